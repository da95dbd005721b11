// Kubernetes object names: a Lease name must be a DNS-1123 subdomain.

/** Longest DNS-1123 subdomain, and so longest Lease name. */
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isDns1123Subdomain(s: string): boolean {
  return s.length > 0 && s.length <= DNS1123_SUBDOMAIN_MAX_LENGTH && DNS1123_SUBDOMAIN.test(s);
}

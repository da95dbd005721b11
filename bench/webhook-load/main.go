// A closed-loop HTTPS load generator for the webhook benchmark (bench/webhook.ts):
// --concurrency workers, each on its own keep-alive HTTP/1.1 connection (as
// kube-apiserver calls a webhook by URL), POST the same AdmissionReview body
// again and again for --duration after a --warmup, and time every request.
// Go's standard library only, so a generator core drives more load than a Node
// one would; it runs pinned to the other core.
//
// stdout: one JSON object: requests, errors, seconds, rps, and latency
// percentiles in microseconds (p50, p90, p99, p999, max).
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "", "https URL to POST to")
	bodyFile := flag.String("body", "", "file with the request body")
	caFile := flag.String("ca", "", "CA certificate of the server")
	concurrency := flag.Int("concurrency", 8, "connections, one request in flight on each")
	duration := flag.Duration("duration", 10*time.Second, "measured duration")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured warm-up before it")
	flag.Parse()

	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	caPEM, err := os.ReadFile(*caFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)

	var (
		measuring atomic.Bool
		stop      atomic.Bool
		errors    atomic.Int64
		mu        sync.Mutex
		all       []int64
		wg        sync.WaitGroup
	)
	for i := 0; i < *concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One transport per worker: its own connection, HTTP/1.1 keep-alive.
			client := &http.Client{
				Timeout: 10 * time.Second,
				Transport: &http.Transport{
					TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
					MaxIdleConnsPerHost: 1,
					ForceAttemptHTTP2:   false,
					TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
				},
			}
			local := make([]int64, 0, 1<<16)
			for !stop.Load() {
				start := time.Now()
				resp, err := client.Post(*url, "application/json", bytes.NewReader(body))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}
				us := time.Since(start).Microseconds()
				if !measuring.Load() {
					continue
				}
				if err != nil {
					errors.Add(1)
					continue
				}
				local = append(local, us)
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		}()
	}
	time.Sleep(*warmup)
	measuring.Store(true)
	t0 := time.Now()
	time.Sleep(*duration)
	measuring.Store(false)
	secs := time.Since(t0).Seconds()
	stop.Store(true)
	wg.Wait()

	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) int64 {
		if len(all) == 0 {
			return -1
		}
		i := int(p / 100 * float64(len(all)-1))
		return all[i]
	}
	out := map[string]any{
		"requests":    len(all),
		"errors":      errors.Load(),
		"seconds":     secs,
		"rps":         float64(len(all)) / secs,
		"concurrency": *concurrency,
		"bodyBytes":   len(body),
		"p50us":       pct(50),
		"p90us":       pct(90),
		"p99us":       pct(99),
		"p999us":      pct(99.9),
		"maxus":       pct(100),
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

// A minimal leader-elector built from client-go's tools/leaderelection with a
// resourcelock.LeaseLock, used by test/integration/clientgo-compat.int.test.ts to run
// client-go candidates on the same Lease as our agents.
//
// stdout: one JSON object per line, {"time": RFC3339Nano, "msg": ..., ...}:
//
//	"elector started"   the configuration
//	"http listening"    addr: the address actually bound (--http may use port 0)
//	"started leading"   at OnStartedLeading
//	"stopped leading"   at OnStoppedLeading; wasLeading tells whether
//	                    OnStartedLeading ran; leaderUntil is the effective end:
//	                    the instant the leader context was cancelled on SIGTERM
//	                    (client-go's ReleaseOnCancel contract: guarded work is
//	                    done before the cancel, and the release comes after it),
//	                    otherwise the callback time (renew deadline passed)
//	"new leader"        at OnNewLeader (client-go calls it in a goroutine)
//
// stderr: client-go's own klog output (--v=N for more).
//
// GET /leader on --http answers {"isLeader", "leader", "self", "leading"}:
// isLeader and leader are le.IsLeader() and le.GetLeader(), i.e. the holder of
// the last record this elector observed; leading is the callbacks' view.
//
// SIGTERM/SIGINT cancel the context: client-go releases the Lease when
// --release-on-cancel is set, calls OnStoppedLeading, and the process exits 0.
// Losing the lease otherwise (renew deadline passed) exits 1, as controllers do.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

var stdoutMu sync.Mutex

// logLine writes one JSON line to stdout.
func logLine(msg string, fields map[string]any) {
	entry := map[string]any{"time": time.Now().UTC().Format(time.RFC3339Nano), "msg": msg}
	for k, v := range fields {
		entry[k] = v
	}
	b, err := json.Marshal(entry)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"msg":%q}`, "cannot encode log line: "+err.Error()))
	}
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	_, _ = os.Stdout.Write(append(b, '\n'))
}

func fail(code int, format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "clientgo-elector: "+format+"\n", args...)
	return code
}

func main() {
	os.Exit(run())
}

func run() int {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file (in-cluster config when empty)")
	namespace := flag.String("namespace", "default", "namespace of the Lease")
	leaseName := flag.String("lease", "", "name of the Lease (required)")
	identity := flag.String("identity", "", "holder identity (required)")
	leaseDuration := flag.Duration("lease-duration", 15*time.Second, "LeaseDuration")
	renewDeadline := flag.Duration("renew-deadline", 10*time.Second, "RenewDeadline")
	retryPeriod := flag.Duration("retry-period", 2*time.Second, "RetryPeriod")
	releaseOnCancel := flag.Bool("release-on-cancel", false, "ReleaseOnCancel: release the Lease on SIGTERM")
	httpAddr := flag.String("http", "", "address of GET /leader, e.g. 127.0.0.1:0 (none when empty)")
	klog.InitFlags(nil)
	flag.Parse()
	defer klog.Flush()

	if *leaseName == "" || *identity == "" {
		return fail(2, "--lease and --identity are required")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fail(2, "kubeconfig: %v", err)
	}
	cfg.UserAgent = "clientgo-elector/" + *identity
	client, err := coordinationv1client.NewForConfig(cfg)
	if err != nil {
		return fail(2, "client: %v", err)
	}

	var (
		mu          sync.Mutex
		leading     bool
		stopped     bool
		cancelledAt time.Time
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: *namespace, Name: *leaseName},
		Client:     client,
		LockConfig: resourcelock.ResourceLockConfig{Identity: *identity},
	}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   *leaseDuration,
		RenewDeadline:   *renewDeadline,
		RetryPeriod:     *retryPeriod,
		ReleaseOnCancel: *releaseOnCancel,
		Name:            *leaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			// client-go runs this in a goroutine; if OnStoppedLeading already ran
			// (SIGTERM right after acquiring), nothing was led: do not log a start.
			OnStartedLeading: func(context.Context) {
				mu.Lock()
				defer mu.Unlock()
				if stopped {
					return
				}
				leading = true
				logLine("started leading", nil)
			},
			// client-go also calls it when it never led (SIGTERM while a candidate).
			OnStoppedLeading: func() {
				mu.Lock()
				defer mu.Unlock()
				now := time.Now()
				until := now
				if !cancelledAt.IsZero() && cancelledAt.Before(now) {
					until = cancelledAt
				}
				logLine("stopped leading", map[string]any{
					"wasLeading":  leading,
					"leaderUntil": until.UTC().Format(time.RFC3339Nano),
				})
				leading = false
				stopped = true
			},
			OnNewLeader: func(id string) {
				logLine("new leader", map[string]any{"leader": id})
			},
		},
	})
	if err != nil {
		return fail(2, "leader elector: %v", err)
	}

	logLine("elector started", map[string]any{
		"identity":        *identity,
		"lease":           *namespace + "/" + *leaseName,
		"leaseDuration":   leaseDuration.String(),
		"renewDeadline":   renewDeadline.String(),
		"retryPeriod":     retryPeriod.String(),
		"releaseOnCancel": *releaseOnCancel,
	})

	if *httpAddr != "" {
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			return fail(2, "listen %s: %v", *httpAddr, err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /leader", func(w http.ResponseWriter, _ *http.Request) {
			mu.Lock()
			l := leading
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"isLeader": le.IsLeader(),
				"leader":   le.GetLeader(),
				"self":     *identity,
				"leading":  l,
			})
		})
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintf(os.Stderr, "clientgo-elector: http: %v\n", err)
			}
		}()
		defer srv.Close()
		logLine("http listening", map[string]any{"addr": ln.Addr().String()})
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-signals
		mu.Lock()
		cancelledAt = time.Now()
		mu.Unlock()
		logLine("signal received; cancelling", map[string]any{"signal": sig.String()})
		cancel()
	}()

	// Returns after OnStoppedLeading (and after the release with ReleaseOnCancel).
	le.Run(ctx)
	if ctx.Err() != nil {
		logLine("exiting", map[string]any{"code": 0})
		return 0
	}
	logLine("lost leadership; exiting", map[string]any{"code": 1})
	return 1
}

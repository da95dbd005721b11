// Many client-go electors in one process, for the scale benchmark (bench/scale.ts):
// G groups of P electors (Lease g<i>, identities g<i>-<j>), each a
// leaderelection.LeaderElector with a resourcelock.LeaseLock (k8s.io/client-go
// v0.36.3), all sharing ONE clientset, as a controller manager shares one.
//
// The client's rate limiter is off (--qps=-1): with client-go's default of 5 QPS
// the electors would mostly measure the limiter. An elector that loses its lease
// becomes a candidate again (a new LeaderElector), so every group keeps P
// candidates.
//
// stdout: JSON lines {"time","msg",...}: "started" (electors), then "leading"
// (groups led by this process) whenever it changes, at most 4 times a second.
// SIGTERM/SIGINT: cancel every elector and exit 0.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

var outMu sync.Mutex

func out(msg string, fields map[string]any) {
	entry := map[string]any{"time": time.Now().UTC().Format(time.RFC3339Nano), "msg": msg}
	for k, v := range fields {
		entry[k] = v
	}
	b, _ := json.Marshal(entry)
	outMu.Lock()
	defer outMu.Unlock()
	_, _ = os.Stdout.Write(append(b, '\n'))
}

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file")
	namespace := flag.String("namespace", "default", "namespace of the Leases")
	groups := flag.Int("groups", 300, "election groups (Leases)")
	perGroup := flag.Int("per-group", 3, "electors per group")
	leaseDuration := flag.Duration("lease-duration", 15*time.Second, "LeaseDuration")
	renewDeadline := flag.Duration("renew-deadline", 10*time.Second, "RenewDeadline")
	retryPeriod := flag.Duration("retry-period", 2*time.Second, "RetryPeriod")
	qps := flag.Float64("qps", -1, "client QPS (-1: no client-side rate limit)")
	burst := flag.Int("burst", 1000, "client burst (with --qps > 0)")
	klog.InitFlags(nil)
	flag.Parse()

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubeconfig: %v\n", err)
		os.Exit(2)
	}
	cfg.QPS = float32(*qps)
	cfg.Burst = *burst
	cfg.UserAgent = "clientgo-many"
	client, err := coordinationv1client.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "client: %v\n", err)
		os.Exit(2)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var leading atomic.Int64
	changed := make(chan struct{}, 1)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	go func() {
		last := int64(-1)
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
				time.Sleep(250 * time.Millisecond)
				if n := leading.Load(); n != last {
					last = n
					out("leading", map[string]any{"groups": n})
				}
			}
		}
	}()

	var wg sync.WaitGroup
	for g := 0; g < *groups; g++ {
		name := fmt.Sprintf("g%d", g)
		for j := 0; j < *perGroup; j++ {
			identity := fmt.Sprintf("g%d-%d", g, j)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					var led atomic.Bool
					le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
						Lock: &resourcelock.LeaseLock{
							LeaseMeta:  metav1.ObjectMeta{Namespace: *namespace, Name: name},
							Client:     client,
							LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
						},
						LeaseDuration: *leaseDuration,
						RenewDeadline: *renewDeadline,
						RetryPeriod:   *retryPeriod,
						Name:          name,
						Callbacks: leaderelection.LeaderCallbacks{
							OnStartedLeading: func(context.Context) {
								led.Store(true)
								leading.Add(1)
								notify()
							},
							OnStoppedLeading: func() {
								if led.Load() {
									leading.Add(-1)
									notify()
								}
							},
						},
					})
					if err != nil {
						fmt.Fprintf(os.Stderr, "elector %s: %v\n", identity, err)
						os.Exit(2)
					}
					// Returns when leadership is lost (or ctx ends); then stand again.
					le.Run(ctx)
				}
			}()
		}
	}
	out("started", map[string]any{"electors": *groups * *perGroup})

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
	cancel()
	wg.Wait()
	out("stopped", nil)
}

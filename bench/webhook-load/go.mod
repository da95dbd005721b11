module leader-election/bench/webhook-load

go 1.26.0

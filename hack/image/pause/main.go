// pause: the sandbox ("infra") container of the real node's pods. It holds the pod's
// namespaces, reaps zombies (it is PID 1 of the pod when the PID namespace is shared) and
// exits on SIGINT/SIGTERM. Built static by hack/image/task-images.sh into localhost/dagwright/pause.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}

package nsiso_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"

	"github.com/ipcu/ipcu/nsiso"
)

// Run a function in a domain of its own: it sees a network namespace with
// only the loopback interface and a /dev/shm of its own. Needs root.
func ExampleDo() {
	err := nsiso.Do(context.Background(), nil, func() error {
		ifs, err := net.Interfaces()
		if err != nil {
			return err
		}
		fmt.Println(len(ifs), ifs[0].Name)
		return os.WriteFile("/dev/shm/seen-by-nobody-else", nil, 0o600)
	})
	if err != nil {
		log.Fatal(err)
	}
}

// Start this program again as a worker in namespaces of its own, granting
// it one file; the worker's main calls nsiso.Init first and dispatches on
// nsiso.Role. Needs root.
func ExampleReexec() {
	if err := nsiso.Init(); err != nil { // first thing in main
		log.Fatal(err)
	}
	if nsiso.Role() == "worker" {
		f := os.NewFile(3, "granted") // the granted file, and nothing else
		defer f.Close()
		// ... serve the channel on f ...
		return
	}

	r, w, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	cmd := nsiso.Reexec("worker")
	cmd.Grant(w)
	cmd.Stderr = os.Stderr
	err = cmd.Start()
	w.Close() // the child has its copy
	if err != nil {
		log.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		log.Fatal(err)
	}
}

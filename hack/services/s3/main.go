// dw-s3: the local cluster's S3-compatible object store, for the runnable lakehouse example.
//
// An S3 protocol server (HTTP, path-style, SigV4 headers accepted but not verified) over a
// directory: github.com/johannesboyne/gofakes3 with its file-backed s3afero backend, so objects
// are plain files under -root and survive a restart. It is a real server process that pods and
// clients reach over TCP, not a mock inside a test. hack/services/up.sh builds and starts it.
//
// Usage: dw-s3 -root DIR -listen ADDR[,ADDR...] [-bucket NAME ...]
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"strings"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
)

type names []string

func (n *names) String() string     { return strings.Join(*n, ",") }
func (n *names) Set(v string) error { *n = append(*n, v); return nil }

func main() {
	root := flag.String("root", "", "directory that holds the buckets (created when missing)")
	listen := flag.String("listen", "127.0.0.1:9000", "comma-separated host:port addresses to serve on")
	var buckets names
	flag.Var(&buckets, "bucket", "bucket to create at start when missing (repeatable)")
	flag.Parse()
	if *root == "" {
		log.Fatal("dw-s3: -root is required")
	}
	fs, err := s3afero.FsPath(*root, s3afero.FsPathCreateAll)
	if err != nil {
		log.Fatalf("dw-s3: %v", err)
	}
	backend, err := s3afero.MultiBucket(fs)
	if err != nil {
		log.Fatalf("dw-s3: %v", err)
	}
	for _, b := range buckets {
		if ok, _ := backend.BucketExists(b); !ok {
			if err := backend.CreateBucket(b); err != nil {
				log.Fatalf("dw-s3: bucket %s: %v", b, err)
			}
		}
	}
	handler := gofakes3.New(backend, gofakes3.WithoutVersioning()).Server()
	addrs := strings.Split(*listen, ",")
	errs := make(chan error, len(addrs))
	for _, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			log.Fatalf("dw-s3: listen %s: %v", addr, err)
		}
		log.Printf("dw-s3: serving %s on http://%s", *root, addr)
		go func() { errs <- http.Serve(l, handler) }()
	}
	log.Fatal(<-errs)
}

// Command probe is the healthcheck of the FROM-scratch images (no shell, no curl in them): it GETs a
// URL and exits 0 when the server answers with a status below 500, 1 otherwise (no answer within 3 s,
// or 5xx, e.g. 503 from Köprü's /readyz while NATS is unreachable).
//
//	/probe http://127.0.0.1:8080/readyz
//
// deploy/docker/build-images.sh builds it into both images; docker-compose.yml's healthchecks run it.
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: probe URL")
		os.Exit(2)
	}
	os.Exit(probe(os.Args[1]))
}

func probe(url string) int {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		fmt.Fprintln(os.Stderr, "probe:", url, resp.Status)
		return 1
	}
	return 0
}

// Command etcd is etcd's own server entry point, rebuilt here because
// go.etcd.io/etcd/server/v3 cannot be `go install`ed directly (its go.mod has
// replace directives); the version comes from this module's go.mod.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}

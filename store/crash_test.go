package store_test

import (
	"os"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

func TestCrash(t *testing.T) {
	storetest.TestCrash(t, func(t *testing.T) storetest.CrashLedger { return storetest.MustOpen(t, store.Options{}) })
}

// TestOwnerAlive: this process is alive under its own name; a pid no
// process can have, or this pid under another start time or boot, is not.
func TestOwnerAlive(t *testing.T) {
	me := store.ProcessOwner(os.Getpid())
	if !store.OwnerAlive(me) {
		t.Fatalf("OwnerAlive(%q) = false for this process", me)
	}
	for _, dead := range []string{store.ProcessOwner(1 << 22), "pid=4194304"} {
		if store.OwnerAlive(dead) {
			t.Errorf("OwnerAlive(%q) = true", dead)
		}
	}
	if strings.Contains(me, "boot=") { // /proc is there: start time and boot id are checked
		for _, other := range []string{me + "0", strings.Replace(me, "boot=", "boot=x", 1)} {
			if store.OwnerAlive(other) {
				t.Errorf("OwnerAlive(%q) = true: another process under this pid", other)
			}
		}
	}
	// Another host's process (a replica on a shared PostgreSQL ledger, or
	// another container) is never judged here, even under a pid that is free.
	if h, err := os.Hostname(); err == nil && strings.HasPrefix(me, "host="+h+" ") {
		other := "host=" + h + "-elsewhere " + strings.TrimPrefix(store.ProcessOwner(1<<22), "host="+h+" ")
		if !store.OwnerAlive(other) {
			t.Errorf("OwnerAlive(%q) = false: another host's process judged dead here", other)
		}
	} else {
		t.Errorf("owner %q does not name this host", me)
	}
}

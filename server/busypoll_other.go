//go:build !linux

package server

import "sync/atomic"

// busyPoller is Linux's (busypoll_linux.go); elsewhere it never spins.
type busyPoller struct {
	active              atomic.Int32
	window              atomic.Int64
	hits, misses, spent atomic.Int64
}

func newBusyPoller() *busyPoller    { return nil }
func (p *busyPoller) close()        {}
func (p *busyPoller) watch(uintptr) {}
func (p *busyPoller) spin() int     { return -1 }

package main

import (
	"math"
	"math/bits"
	"time"
)

// Hist is a latency histogram in the manner of HDR histograms: exact to the
// microsecond below 2048 µs, then log-linear with 1024 sub-buckets per
// power of two (relative error under 0.1 %), up to 2^40 µs. Recording
// neither allocates nor locks: each client goroutine owns its histograms,
// which are merged once the measurement is over.
type Hist struct {
	counts [nBuckets]uint32
	n      uint64
	sumNs  int64
	maxNs  int64
}

const (
	subBits   = 11
	subCount  = 1 << subBits // values below this many µs have a bucket each
	halfCount = subCount / 2
	maxMag    = 40 // values of 2^40 µs and more share the last bucket
	nBuckets  = subCount + (maxMag-subBits)*halfCount
)

// bucketOf returns the bucket of a value in microseconds.
func bucketOf(us uint64) int {
	if us < subCount {
		return int(us)
	}
	m := bits.Len64(us) // > subBits
	if m > maxMag {
		return nBuckets - 1
	}
	shift := m - subBits
	return subCount + (m-subBits-1)*halfCount + int(us>>uint(shift)) - halfCount
}

// bucketRange returns the smallest value of bucket i and its width, in µs.
func bucketRange(i int) (lo, width uint64) {
	if i < subCount {
		return uint64(i), 1
	}
	j := i - subCount
	shift := uint(j/halfCount + 1)
	sub := uint64(j%halfCount + halfCount)
	return sub << shift, 1 << shift
}

// Record adds one latency.
func (h *Hist) Record(d time.Duration) {
	ns := int64(d)
	if ns < 0 {
		ns = 0
	}
	h.counts[bucketOf(uint64(ns/1000))]++
	h.n++
	h.sumNs += ns
	if ns > h.maxNs {
		h.maxNs = ns
	}
}

// Merge adds o's counts to h.
func (h *Hist) Merge(o *Hist) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sumNs += o.sumNs
	if o.maxNs > h.maxNs {
		h.maxNs = o.maxNs
	}
}

// Count is the number of values recorded.
func (h *Hist) Count() uint64 { return h.n }

// Max is the largest value recorded, exactly.
func (h *Hist) Max() time.Duration { return time.Duration(h.maxNs) }

// Mean is the average value.
func (h *Hist) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sumNs / int64(h.n))
}

// Quantile returns the value at quantile q (0 < q <= 1): the smallest
// bucket holding at least ceil(q*n) of the values, as the middle of its
// range (its value for the exact buckets), never above the maximum.
func (h *Hist) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	if rank > h.n {
		rank = h.n
	}
	var cum uint64
	for i, c := range h.counts {
		cum += uint64(c)
		if cum >= rank {
			lo, w := bucketRange(i)
			d := time.Duration(lo+(w-1)/2) * time.Microsecond
			if d > h.Max() {
				d = h.Max()
			}
			return d
		}
	}
	return h.Max()
}

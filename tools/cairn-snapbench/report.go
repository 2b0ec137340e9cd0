package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// The targets for a background snapshot under write load.
const (
	targetP999   = 50 * time.Millisecond
	targetGrowth = 20.0 // % of PSS
)

func ms3(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/1e6) }

func mb(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

func commas(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtF(x float64, nd int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	if nd == 0 {
		return commas(x)
	}
	return fmt.Sprintf("%.*f", nd, x)
}

const roundHdr = "side phase    |      ops/s   p50 ms   p99 ms p99.9 ms    max ms  pause ms |   secs | PSS MB before      max  growth | RSS MB before      max | procs"

func phaseRow(side, phase string, p phaseStats, m memStats) string {
	return fmt.Sprintf("%-4s %-8s | %10s %8s %8s %8s %9s %9s | %6.2f | %13s %8s %6.1f%% | %13s %8s | %5d",
		side, phase, commas(p.opsPerSec), ms3(p.p50), ms3(p.p99), ms3(p.p999), ms3(p.max), ms3(p.pause),
		p.secs, mb(m.pssBefore), mb(m.pssMax), m.growth(), mb(m.rssBefore), mb(m.rssMax), m.procsMax)
}

// printRound prints one round's table, as soon as it is measured.
func printRound(r int, order []*server, rs []*result) {
	names := make([]string, len(order))
	for i, s := range order {
		names[i] = s.name
	}
	fmt.Printf("\n== round %d (order %s)\n%s\n", r, strings.Join(names, " "), roundHdr)
	for _, res := range rs {
		fmt.Println(phaseRow(res.side, "baseline", res.base, res.mbase))
		fmt.Println(phaseRow(res.side, "snapshot", res.win, res.mwin))
	}
	for _, res := range rs {
		for _, n := range res.notes() {
			fmt.Printf("  note %s: %s\n", res.side, n)
		}
	}
}

// metric is one summary row: a value per result.
type metric struct {
	name string
	nd   int
	get  func(*result) float64
	// ratio: print B/A (only of rounds where A is positive and B is not negative).
	ratio bool
}

func printSummary(o *options, servers []*server, results []*result, gcLines []string) {
	haveB := len(servers) > 1
	byRound := map[string]map[int]*result{}
	for _, r := range results {
		if byRound[r.side] == nil {
			byRound[r.side] = map[int]*result{}
		}
		byRound[r.side][r.round] = r
	}
	metrics := []metric{
		{"snapshot window s", 2, func(r *result) float64 { return r.win.secs }, true},
		{"baseline ops/s", 0, func(r *result) float64 { return r.base.opsPerSec }, true},
		{"snapshot ops/s", 0, func(r *result) float64 { return r.win.opsPerSec }, true},
		{"baseline p99 ms", 3, func(r *result) float64 { return ms(r.base.p99) }, true},
		{"snapshot p99 ms", 3, func(r *result) float64 { return ms(r.win.p99) }, true},
		{"baseline p99.9 ms", 3, func(r *result) float64 { return ms(r.base.p999) }, true},
		{"snapshot p99.9 ms", 3, func(r *result) float64 { return ms(r.win.p999) }, true},
		{"baseline max ms", 3, func(r *result) float64 { return ms(r.base.max) }, true},
		{"snapshot max ms", 3, func(r *result) float64 { return ms(r.win.max) }, true},
		{"baseline pause ms", 3, func(r *result) float64 { return ms(r.base.pause) }, true},
		{"snapshot pause ms", 3, func(r *result) float64 { return ms(r.win.pause) }, true},
		{"PSS before MB", 1, func(r *result) float64 { return float64(r.mwin.pssBefore) / (1 << 20) }, true},
		{"PSS max MB", 1, func(r *result) float64 { return float64(r.mwin.pssMax) / (1 << 20) }, true},
		{"PSS growth %", 1, func(r *result) float64 { return r.mwin.growth() }, true},
		{"baseline PSS growth %", 1, func(r *result) float64 { return r.mbase.growth() }, false},
		{"RSS (own) growth %", 1, func(r *result) float64 { return r.mwin.rssGrowth() }, false},
	}
	fmt.Printf("\n== summary: medians over %d rounds; B/A = median of the per-round ratios (min-max)\n", o.rounds)
	hdr := fmt.Sprintf("%-22s | %12s", "metric", "A")
	if haveB {
		hdr += fmt.Sprintf(" %12s | %7s %13s", "B", "B/A", "min-max")
	}
	fmt.Println(hdr)
	med := map[string]map[string]float64{} // metric -> side -> median
	ratio := map[string]float64{}
	for _, m := range metrics {
		med[m.name] = map[string]float64{}
		for _, s := range servers {
			var xs []float64
			for _, r := range byRound[s.name] {
				xs = append(xs, m.get(r))
			}
			med[m.name][s.name] = median(xs)
		}
		line := fmt.Sprintf("%-22s | %12s", m.name, fmtF(med[m.name]["A"], m.nd))
		if haveB {
			var rs []float64
			if m.ratio {
				for k, a := range byRound["A"] {
					b, ok := byRound["B"][k]
					if ok && m.get(a) > 0 && m.get(b) >= 0 {
						rs = append(rs, m.get(b)/m.get(a))
					}
				}
			}
			ratio[m.name] = median(rs)
			rng := "-"
			if len(rs) > 0 {
				sort.Float64s(rs)
				rng = fmt.Sprintf("%.2f-%.2f", rs[0], rs[len(rs)-1])
			}
			line += fmt.Sprintf(" %12s | %7s %13s", fmtF(med[m.name]["B"], m.nd), fmtF(ratio[m.name], 3), rng)
		}
		fmt.Println(line)
	}
	for _, l := range gcLines {
		fmt.Println(l)
	}

	// The targets, for each side.
	var verdicts []string
	for _, s := range servers {
		p999 := med["snapshot p99.9 ms"][s.name]
		g := med["PSS growth %"][s.name]
		verdicts = append(verdicts, fmt.Sprintf("%s: p99.9 %.2f ms %s, PSS growth %.1f %% %s", s.name,
			p999, okFail(p999 < ms(targetP999)), g, okFail(g < targetGrowth)))
	}
	fmt.Printf("targets (snapshot under write load: p99.9 < %v, PSS growth < %.0f %%): %s\n",
		targetP999, targetGrowth, strings.Join(verdicts, "; "))

	abs := func(side string) string {
		return fmt.Sprintf("%s: p99.9 %s ms, pause %s ms, growth %s %%, window %s s", side,
			fmtF(med["snapshot p99.9 ms"][side], 3), fmtF(med["snapshot pause ms"][side], 3),
			fmtF(med["PSS growth %"][side], 1), fmtF(med["snapshot window s"][side], 2))
	}
	head := fmt.Sprintf("SUMMARY snapbench keys=%d clients=%d value=%d", o.params.keys, o.params.clients, o.params.valueSize)
	if !haveB {
		fmt.Printf("\n%s: A only (no B given) (%s)\n", head, abs("A"))
		return
	}
	fmt.Printf("\n%s: B/A p99.9=%s pause=%s mem-growth=%s (%s; %s)  (<1 = B better)\n", head,
		fmtF(ratio["snapshot p99.9 ms"], 3), fmtF(ratio["snapshot pause ms"], 3), fmtF(ratio["PSS growth %"], 3),
		abs("A"), abs("B"))
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func okFail(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAIL"
}

package engine

import "sort"

// zbtree is an order-statistic B+tree of sorted-set items, ordered by
// (score, member): the big sorted sets' index (Redis uses a skiplist with
// spans). Every node knows how many items its subtree holds, so rank and
// select are O(log n) and a range is found in O(log n) and walked in
// O(length). Items live in the leaves; an inner node holds its children and
// separators: keys[i] is greater than every item of kids[i] and no greater
// than any item of kids[i+1] (a bound, not necessarily an item still
// present). Compared with a skiplist's node per member, a leaf is one
// packed array of 24-byte items (about 35 bytes a member at the usual
// fill of two thirds), with one pointer per item, the member's string,
// for the collector to follow.
type zbtree struct {
	root *zbNode
}

// zbMax is the most items in a leaf and children in an inner node; a
// leaf's array has room for zbMax items once it grows.
const zbMax = 64

type zbNode struct {
	items []zitem   // leaf: sorted
	kids  []*zbNode // inner
	keys  []zitem   // inner: len(kids)-1 separators
	size  int       // items in the subtree
}

// zitem is one member of a sorted set with its score.
type zitem struct {
	member string
	score  float64
}

// zless orders items by score, then member bytes (as Redis does).
func zless(a, b zitem) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.member < b.member
}

func (n *zbNode) leaf() bool { return n.kids == nil }

func (n *zbNode) count() int {
	if n.leaf() {
		return len(n.items)
	}
	return len(n.kids)
}

// insertItem inserts it at i into items (growing it only if it is full).
func insertItem(items []zitem, i int, it zitem) []zitem {
	items = append(items, zitem{})
	copy(items[i+1:], items[i:])
	items[i] = it
	return items
}

// kidFor returns the child whose range holds it.
func (n *zbNode) kidFor(it zitem) int {
	return sort.Search(len(n.keys), func(j int) bool { return zless(it, n.keys[j]) })
}

func (t *zbtree) len() int {
	if t.root == nil {
		return 0
	}
	return t.root.size
}

// clone returns a copy of the tree, node for node, each node's arrays
// with the capacity they had.
func (t *zbtree) clone() zbtree {
	if t.root == nil {
		return zbtree{}
	}
	return zbtree{root: t.root.clone()}
}

func (n *zbNode) clone() *zbNode {
	c := &zbNode{size: n.size}
	if n.leaf() {
		c.items = append(make([]zitem, 0, cap(n.items)), n.items...)
		return c
	}
	c.keys = append(make([]zitem, 0, cap(n.keys)), n.keys...)
	c.kids = make([]*zbNode, len(n.kids), cap(n.kids))
	for i, k := range n.kids {
		c.kids[i] = k.clone()
	}
	return c
}

// insert adds it, which must not be present.
func (t *zbtree) insert(it zitem) {
	if t.root == nil {
		t.root = &zbNode{items: make([]zitem, 0, 4)}
	}
	if sep, right := t.root.insert(it); right != nil {
		left := t.root
		t.root = &zbNode{kids: []*zbNode{left, right}, keys: []zitem{sep}, size: left.size + right.size}
	}
}

func (n *zbNode) insert(it zitem) (zitem, *zbNode) {
	n.size++
	if n.leaf() {
		i := sort.Search(len(n.items), func(i int) bool { return !zless(n.items[i], it) })
		if len(n.items) < zbMax {
			if len(n.items) == cap(n.items) {
				// Room for a whole leaf at once. Grown a few items at a
				// time, a leaf left an array to the collector every few
				// inserts: ZADD of a new member into a big set allocated
				// about 200 bytes in leaf arrays, most of it garbage. A
				// whole leaf costs 12 bytes a member more (1M random
				// members: 115 B a member against 103; Redis uses 109).
				grown := make([]zitem, len(n.items), zbMax)
				copy(grown, n.items)
				n.items = grown
			}
			n.items = insertItem(n.items, i, it)
			return zitem{}, nil
		}
		// Full: split, then insert. Appending at the end (the usual bulk
		// pattern) leaves the left node full, prepending the right one.
		mid := zbMax / 2
		switch i {
		case zbMax:
			mid = zbMax
		case 0:
			mid = 0
		}
		right := &zbNode{items: make([]zitem, zbMax-mid, zbMax)}
		copy(right.items, n.items[mid:])
		clear(n.items[mid:])
		n.items = n.items[:mid]
		if i < mid || (i == mid && mid < zbMax) {
			n.items = insertItem(n.items, i, it)
		} else {
			right.items = insertItem(right.items, i-mid, it)
		}
		right.size = len(right.items)
		n.size = len(n.items)
		return right.items[0], right
	}
	i := n.kidFor(it)
	sep, r := n.kids[i].insert(it)
	if r == nil {
		return zitem{}, nil
	}
	n.kids = append(n.kids, nil)
	copy(n.kids[i+2:], n.kids[i+1:])
	n.kids[i+1] = r
	n.keys = insertItem(n.keys, i, sep)
	if len(n.kids) <= zbMax {
		return zitem{}, nil
	}
	mid := len(n.kids) / 2
	if i+1 == len(n.kids)-1 {
		mid = len(n.kids) - 1
	}
	right := &zbNode{
		kids: append(make([]*zbNode, 0, zbMax+1), n.kids[mid:]...),
		keys: append(make([]zitem, 0, zbMax), n.keys[mid:]...),
	}
	up := n.keys[mid-1]
	clear(n.kids[mid:])
	n.kids = n.kids[:mid]
	clear(n.keys[mid-1:])
	n.keys = n.keys[:mid-1]
	n.size = 0
	for _, k := range n.kids {
		n.size += k.size
	}
	for _, k := range right.kids {
		right.size += k.size
	}
	return up, right
}

// delete removes it; reports whether it was there.
func (t *zbtree) delete(it zitem) bool {
	if t.root == nil || !t.root.delete(it) {
		return false
	}
	for !t.root.leaf() && len(t.root.kids) == 1 {
		t.root = t.root.kids[0]
	}
	if t.root.size == 0 {
		t.root = nil
	}
	return true
}

func (n *zbNode) delete(it zitem) bool {
	if n.leaf() {
		i := sort.Search(len(n.items), func(i int) bool { return !zless(n.items[i], it) })
		if i == len(n.items) || n.items[i] != it {
			return false
		}
		copy(n.items[i:], n.items[i+1:])
		n.items[len(n.items)-1] = zitem{}
		n.items = n.items[:len(n.items)-1]
		n.size--
		return true
	}
	i := n.kidFor(it)
	if !n.kids[i].delete(it) {
		return false
	}
	n.size--
	n.fix(i)
	return true
}

// fix restores child i after removals: an empty child goes, a small one
// merges with a neighbour when the two fit in one node comfortably.
func (n *zbNode) fix(i int) {
	k := n.kids[i]
	if k.size == 0 {
		n.removeKid(i)
		return
	}
	if k.count() >= zbMax/4 {
		return
	}
	j := i // merge kids[j] and kids[j+1]
	if i+1 == len(n.kids) {
		j = i - 1
	}
	if j < 0 {
		return
	}
	a, b := n.kids[j], n.kids[j+1]
	if a.count()+b.count() > zbMax*3/4 {
		return
	}
	if a.leaf() {
		a.items = append(a.items, b.items...)
	} else {
		a.keys = append(append(a.keys, n.keys[j]), b.keys...)
		a.kids = append(a.kids, b.kids...)
	}
	a.size += b.size
	n.removeKid(j + 1)
}

// removeKid drops child i and a separator next to it.
func (n *zbNode) removeKid(i int) {
	copy(n.kids[i:], n.kids[i+1:])
	n.kids[len(n.kids)-1] = nil
	n.kids = n.kids[:len(n.kids)-1]
	if len(n.keys) == 0 {
		return
	}
	s := i - 1
	if s < 0 {
		s = 0
	}
	copy(n.keys[s:], n.keys[s+1:])
	n.keys[len(n.keys)-1] = zitem{}
	n.keys = n.keys[:len(n.keys)-1]
}

// countWhile returns how many items, from the first, satisfy pred, which
// must hold for a prefix of the order and fail after it.
func (t *zbtree) countWhile(pred func(zitem) bool) int {
	n := t.root
	total := 0
	for n != nil {
		if n.leaf() {
			return total + sort.Search(len(n.items), func(i int) bool { return !pred(n.items[i]) })
		}
		j := sort.Search(len(n.keys), func(j int) bool { return !pred(n.keys[j]) })
		for _, k := range n.kids[:j] {
			total += k.size
		}
		n = n.kids[j]
	}
	return total
}

// at returns the item of rank r (0-based).
func (t *zbtree) at(r int) zitem {
	n := t.root
	for !n.leaf() {
		for _, k := range n.kids {
			if r < k.size {
				n = k
				break
			}
			r -= k.size
		}
	}
	return n.items[r]
}

// scan calls fn on the items of ranks from..to (inclusive), ascending, or
// descending from to down to from when rev, until fn returns false.
func (t *zbtree) scan(from, to int, rev bool, fn func(zitem) bool) {
	if t.root != nil && from <= to {
		t.root.scan(0, from, to, rev, fn)
	}
}

func (n *zbNode) scan(base, from, to int, rev bool, fn func(zitem) bool) bool {
	if n.leaf() {
		lo, hi := max(from-base, 0), min(to-base, len(n.items)-1)
		if rev {
			for i := hi; i >= lo; i-- {
				if !fn(n.items[i]) {
					return false
				}
			}
		} else {
			for i := lo; i <= hi; i++ {
				if !fn(n.items[i]) {
					return false
				}
			}
		}
		return true
	}
	if rev {
		b := base + n.size
		for i := len(n.kids) - 1; i >= 0; i-- {
			k := n.kids[i]
			b -= k.size
			if b > to || b+k.size <= from {
				continue
			}
			if !k.scan(b, from, to, rev, fn) {
				return false
			}
		}
		return true
	}
	b := base
	for _, k := range n.kids {
		if b > to {
			break
		}
		if b+k.size > from {
			if !k.scan(b, from, to, rev, fn) {
				return false
			}
		}
		b += k.size
	}
	return true
}

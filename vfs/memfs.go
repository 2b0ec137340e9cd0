package vfs

import (
	"bytes"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// MemFS is a strict in-memory filesystem for crash tests. It models a power
// loss, not just a killed process: besides what the running program sees, it
// keeps what the disk holds durably, and CrashClone returns only that.
//
//   - A file's contents are durable as of its last successful Sync.
//   - A directory's entries (files and directories created, renamed in or
//     out, removed) are durable as of its last SyncDir. So a file created and
//     synced, in a directory never synced, vanishes at a crash; a rename or a
//     remove not followed by SyncDir of the directories involved is undone.
//     MkdirAll, like os.MkdirAll, does not sync: a new directory survives only
//     once its parent is synced. The root always exists.
//
// Paths are cleaned with filepath.Clean; "/a" and "a" name the same file.
// Permissions are ignored and ModTime is zero. Safe for concurrent use.
type MemFS struct {
	// mu guards every node and every open file of this filesystem.
	mu sync.Mutex
	// root is the root directory; it exists, and is durable, always.
	root *memNode
}

// memNode is a file or a directory: an inode. Names in the current and the
// durable namespaces refer to nodes, so a rename moves a name, not contents,
// and an open file keeps its node after its name is removed or renamed.
type memNode struct {
	isDir bool
	// data is a file's current contents.
	data []byte
	// synced is a file's contents as of its last successful Sync. It never
	// shares memory with data.
	synced []byte
	// children is a directory's current namespace (nil for a file).
	children map[string]*memNode
	// durable is a directory's namespace as of its last SyncDir: what a
	// crash leaves (nil for a file).
	durable map[string]*memNode
}

func newDir() *memNode {
	return &memNode{isDir: true, children: map[string]*memNode{}, durable: map[string]*memNode{}}
}

// NewMem returns an empty MemFS.
func NewMem() *MemFS { return &MemFS{root: newDir()} }

// CrashOptions says what of the writes not yet synced reach the disk in a
// CrashClone.
type CrashOptions struct {
	// KeepUnsynced, if set, keeps part of each file's unsynced tail (see
	// CrashClone); nil keeps none. Seed it, and print the seed, so a failure
	// can be replayed.
	KeepUnsynced *rand.Rand
	// TearTail, with KeepUnsynced, garbles the end of each kept unsynced
	// part, as a torn sector would.
	TearTail bool
}

// tornMax bounds how many trailing kept bytes TearTail garbles: a sector.
const tornMax = 512

// CrashClone returns a new MemFS holding what would survive a power loss now.
// It has exactly the durable namespace: each directory holds the entries it
// held at its last SyncDir (the root always exists; a directory never synced
// is empty). Each file holds its contents as of its last successful Sync, and
// then:
//
//   - without opts.KeepUnsynced, nothing more;
//   - with it, a prefix of the unsynced changes, written over the synced
//     contents: the changes run from the first byte where the current
//     contents differ from the synced ones to the end of the current
//     contents (for a file only appended to, its unsynced tail; for one
//     written in place, from the first byte rewritten), and the prefix kept
//     is none of them (1 time in 4), all (1 in 4), or a length chosen
//     uniformly from 0 to all (otherwise). A truncation is never kept: a
//     file cut shorter since its Sync keeps at least its synced length;
//   - with opts.TearTail too, when at least one unsynced byte is kept, the
//     last t kept bytes (t uniform in 1..min(kept, 512)) are replaced, all by
//     zeros or all by random bytes (even chance). Synced bytes are never torn.
//
// Files are visited in name order, so a seeded KeepUnsynced makes the clone
// reproducible. Everything in the clone is durable; open files are not
// carried over, and the receiver is not changed.
func (fs *MemFS) CrashClone(opts CrashOptions) *MemFS {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	// seen keeps a node reached by two durable names (a rename whose two
	// directories were synced at different moments) one node, and ends the
	// walk if a cross-directory rename left a cycle in the durable namespace.
	seen := map[*memNode]*memNode{}
	return &MemFS{root: crashNode(fs.root, opts, seen)}
}

func crashNode(n *memNode, opts CrashOptions, seen map[*memNode]*memNode) *memNode {
	if c, ok := seen[n]; ok {
		return c
	}
	if !n.isDir {
		img := crashImage(n, opts)
		c := &memNode{data: img, synced: bytes.Clone(img)}
		seen[n] = c
		return c
	}
	c := newDir()
	seen[n] = c
	for _, name := range slices.Sorted(maps.Keys(n.durable)) {
		c.children[name] = crashNode(n.durable[name], opts, seen)
	}
	c.durable = maps.Clone(c.children)
	return c
}

// crashImage is what a file holds after a crash; see CrashClone.
func crashImage(n *memNode, opts CrashOptions) []byte {
	img := bytes.Clone(n.synced)
	rng := opts.KeepUnsynced
	// The unsynced changes start where the contents first differ from
	// the synced ones.
	d := 0
	for d < len(n.data) && d < len(n.synced) && n.data[d] == n.synced[d] {
		d++
	}
	tail := n.data[d:]
	if rng == nil || len(tail) == 0 {
		return img
	}
	var k int
	switch rng.IntN(4) {
	case 0:
		k = 0
	case 1:
		k = len(tail)
	default:
		k = rng.IntN(len(tail) + 1)
	}
	if grow := d + k - len(img); grow > 0 {
		img = append(img, make([]byte, grow)...)
	}
	copy(img[d:], tail[:k])
	if opts.TearTail && k > 0 {
		torn := img[d+k-1-rng.IntN(min(k, tornMax)) : d+k]
		if rng.IntN(2) == 0 {
			clear(torn)
		} else {
			for i := range torn {
				torn[i] = byte(rng.Uint32())
			}
		}
	}
	return img
}

// split cleans name into its components; the root has none.
func split(name string) ([]string, error) {
	p := strings.TrimPrefix(filepath.ToSlash(filepath.Clean(name)), "/")
	if p == "." || p == "" {
		return nil, nil
	}
	parts := strings.Split(p, "/")
	if slices.Contains(parts, "..") {
		return nil, os.ErrInvalid // above the root
	}
	return parts, nil
}

// lookup returns the node name refers to. Callers hold fs.mu.
func (fs *MemFS) lookup(op, name string) (*memNode, error) {
	parts, err := split(name)
	if err != nil {
		return nil, &os.PathError{Op: op, Path: name, Err: err}
	}
	n := fs.root
	for _, c := range parts {
		if !n.isDir {
			return nil, &os.PathError{Op: op, Path: name, Err: syscall.ENOTDIR}
		}
		if n = n.children[c]; n == nil {
			return nil, &os.PathError{Op: op, Path: name, Err: os.ErrNotExist}
		}
	}
	return n, nil
}

// parent returns the directory holding name, and name's last component.
// Callers hold fs.mu.
func (fs *MemFS) parent(op, name string) (*memNode, string, error) {
	parts, err := split(name)
	if err == nil && len(parts) == 0 {
		err = os.ErrInvalid // the root has no parent
	}
	if err != nil {
		return nil, "", &os.PathError{Op: op, Path: name, Err: err}
	}
	dir, err := fs.lookup(op, filepath.Join(parts[:len(parts)-1]...))
	if err != nil {
		return nil, "", &os.PathError{Op: op, Path: name, Err: err.(*os.PathError).Err}
	}
	if !dir.isDir {
		return nil, "", &os.PathError{Op: op, Path: name, Err: syscall.ENOTDIR}
	}
	return dir, parts[len(parts)-1], nil
}

// Create implements FS.
func (fs *MemFS) Create(name string) (File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	dir, base, err := fs.parent("open", name)
	if err != nil {
		return nil, err
	}
	n := dir.children[base]
	switch {
	case n == nil:
		n = &memNode{}
		dir.children[base] = n
	case n.isDir:
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EISDIR}
	default:
		// The same node is truncated, as O_TRUNC does: other open files see
		// it, and its synced contents stay until the next Sync.
		n.data = nil
	}
	return &memFile{fs: fs, n: n, name: name, writable: true}, nil
}

// Open implements FS. Opening a directory succeeds; reading it fails.
func (fs *MemFS) Open(name string) (File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, err := fs.lookup("open", name)
	if err != nil {
		return nil, err
	}
	return &memFile{fs: fs, n: n, name: name}, nil
}

// OpenReadWrite implements FS.
func (fs *MemFS) OpenReadWrite(name string) (File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, err := fs.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if n.isDir {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EISDIR}
	}
	return &memFile{fs: fs, n: n, name: name, writable: true}, nil
}

// Remove implements FS.
func (fs *MemFS) Remove(name string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	dir, base, err := fs.parent("remove", name)
	if err != nil {
		return err
	}
	n := dir.children[base]
	switch {
	case n == nil:
		return &os.PathError{Op: "remove", Path: name, Err: os.ErrNotExist}
	case n.isDir && len(n.children) > 0:
		return &os.PathError{Op: "remove", Path: name, Err: syscall.ENOTEMPTY}
	}
	delete(dir.children, base)
	return nil
}

// Rename implements FS. A file replaces a file, and a directory an empty
// directory, as rename(2) does.
func (fs *MemFS) Rename(oldname, newname string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fail := func(err error) error {
		if pe, ok := err.(*os.PathError); ok {
			err = pe.Err
		}
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	od, ob, err := fs.parent("rename", oldname)
	if err != nil {
		return fail(err)
	}
	nd, nb, err := fs.parent("rename", newname)
	if err != nil {
		return fail(err)
	}
	n := od.children[ob]
	if n == nil {
		return fail(os.ErrNotExist)
	}
	if od == nd && ob == nb {
		return nil
	}
	if old := nd.children[nb]; old != nil {
		switch {
		case !n.isDir && old.isDir:
			return fail(syscall.EISDIR)
		case n.isDir && !old.isDir:
			return fail(syscall.ENOTDIR)
		case old.isDir && len(old.children) > 0:
			return fail(syscall.ENOTEMPTY)
		}
	}
	if n.isDir {
		op, _ := split(oldname)
		np, _ := split(newname)
		if len(np) > len(op) && slices.Equal(np[:len(op)], op) {
			return fail(os.ErrInvalid) // into its own subtree
		}
	}
	delete(od.children, ob)
	nd.children[nb] = n
	return nil
}

// MkdirAll implements FS. perm is ignored.
func (fs *MemFS) MkdirAll(dir string, perm os.FileMode) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	parts, err := split(dir)
	if err != nil {
		return &os.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	n := fs.root
	for _, c := range parts {
		child := n.children[c]
		if child == nil {
			child = newDir()
			n.children[c] = child
		} else if !child.isDir {
			return &os.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		n = child
	}
	return nil
}

// List implements FS.
func (fs *MemFS) List(dir string) ([]string, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, err := fs.lookup("open", dir)
	if err != nil {
		return nil, err
	}
	if !n.isDir {
		return nil, &os.PathError{Op: "readdirent", Path: dir, Err: syscall.ENOTDIR}
	}
	return slices.Sorted(maps.Keys(n.children)), nil
}

// SyncDir implements FS: dir's current entries become its durable ones. It
// syncs neither the files' contents nor subdirectories' entries.
func (fs *MemFS) SyncDir(dir string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, err := fs.lookup("sync", dir)
	if err != nil {
		return err
	}
	if !n.isDir {
		return &os.PathError{Op: "sync", Path: dir, Err: syscall.ENOTDIR}
	}
	n.durable = maps.Clone(n.children)
	return nil
}

// Stat implements FS.
func (fs *MemFS) Stat(name string) (os.FileInfo, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, err := fs.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return memFileInfo{name: filepath.Base(filepath.Clean(name)), size: int64(len(n.data)), isDir: n.isDir}, nil
}

type memFileInfo struct {
	name  string
	size  int64
	isDir bool
}

func (fi memFileInfo) Name() string       { return fi.name }
func (fi memFileInfo) Size() int64        { return fi.size }
func (fi memFileInfo) IsDir() bool        { return fi.isDir }
func (fi memFileInfo) ModTime() time.Time { return time.Time{} }
func (fi memFileInfo) Sys() any           { return nil }
func (fi memFileInfo) Mode() os.FileMode {
	if fi.isDir {
		return os.ModeDir | 0o755
	}
	return 0o644
}

// memFile is an open file of a MemFS. Its fields after name are guarded by
// fs.mu.
type memFile struct {
	fs *MemFS
	// n is the node opened; it stays valid if its name goes away.
	n    *memNode
	name string
	// writable is false for Open.
	writable bool
	// pos is the offset of the next Read and of the next Write.
	pos int
	// closed is set by Close; every later call fails.
	closed bool
}

// check fails op if f is closed, or if it writes and f is read-only, or if it
// needs a file and f is a directory. Callers hold fs.mu.
func (f *memFile) check(op string, write, needFile bool) error {
	var err error
	switch {
	case f.closed:
		err = os.ErrClosed
	case write && !f.writable:
		err = syscall.EBADF
	case needFile && f.n.isDir:
		err = syscall.EISDIR
	default:
		return nil
	}
	return &os.PathError{Op: op, Path: f.name, Err: err}
}

func (f *memFile) Read(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read", false, true); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if f.pos >= len(f.n.data) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[f.pos:])
	f.pos += n
	return n, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read", false, true); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &os.PathError{Op: "read", Path: f.name, Err: os.ErrInvalid}
	}
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write", true, true); err != nil {
		return 0, err
	}
	f.writeAt(p, f.pos)
	f.pos += len(p)
	return len(p), nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write", true, true); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &os.PathError{Op: "write", Path: f.name, Err: os.ErrInvalid}
	}
	f.writeAt(p, int(off))
	return len(p), nil
}

// writeAt writes p at off. Callers hold fs.mu.
func (f *memFile) writeAt(p []byte, off int) {
	end := off + len(p)
	if grow := end - len(f.n.data); grow > 0 {
		// Zero-fills any gap between the end and off.
		f.n.data = append(f.n.data, make([]byte, grow)...)
	}
	copy(f.n.data[off:], p)
}

// Sync makes the contents durable; on a directory, it syncs the entries, as
// fsync of a directory does.
func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("sync", false, false); err != nil {
		return err
	}
	if f.n.isDir {
		f.n.durable = maps.Clone(f.n.children)
	} else {
		f.n.synced = bytes.Clone(f.n.data)
	}
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("truncate", true, true); err != nil {
		return err
	}
	if size < 0 {
		return &os.PathError{Op: "truncate", Path: f.name, Err: os.ErrInvalid}
	}
	if grow := int(size) - len(f.n.data); grow > 0 {
		f.n.data = append(f.n.data, make([]byte, grow)...)
	} else {
		f.n.data = f.n.data[:size]
	}
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("stat", false, false); err != nil {
		return 0, err
	}
	return int64(len(f.n.data)), nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("close", false, false); err != nil {
		return err
	}
	f.closed = true
	return nil
}

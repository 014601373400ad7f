package sys

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipcu/ipcu/internal/testenv"
)

// atomic64Views are the only packages (directories) that may call
// sync/atomic's 64-bit functions (AddUint64, LoadInt64, ...), each on a word
// of memory it views by offset, and why that word is 8-byte aligned on
// every target, with the test that checks it. Everywhere else a 64-bit
// atomic is an atomic.Uint64 or atomic.Int64, which the compiler aligns to
// 8 bytes on 32-bit platforms too.
var atomic64Views = map[string]string{
	"regs":         "NewWindow refuses memory not 8-byte aligned and every access is naturally aligned (regs tests)",
	"dmaring":      "ring memory is 8-byte aligned and every 64-bit word at a multiple of 8 (ring_align_test.go, ring_layout_unsafe_test.go)",
	"internal/sys": "unaligned_unsafe_test.go shows that 32-bit ARM panics on an unaligned 64-bit atomic",
}

// TestAtomic64OnlyInViews parses every Go file of the module and fails on a
// call of a 64-bit sync/atomic function outside atomic64Views, and on one
// anywhere whose address operand is a struct field (&x.f): a plain uint64
// field is only 4-byte aligned on 32-bit ARM, where such a call panics.
func TestAtomic64OnlyInViews(t *testing.T) {
	root, err := testenv.RepoRoot()
	require.NoError(t, err)
	fset := token.NewFileSet()
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "dist") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		if len(atomic64Calls(f)) > 0 {
			seen[dir] = true
		}
		for _, p := range atomic64Problems(fset, rel, f) {
			t.Error(p)
		}
		return nil
	})
	require.NoError(t, err)
	// A listed package that stopped making such calls is only reported:
	// removing code must not fail another package's tests.
	for dir := range atomic64Views {
		if !seen[dir] {
			t.Logf("%s is listed but makes no 64-bit atomic call: remove it from atomic64Views", dir)
		}
	}
}

// atomic64Problems returns what breaks the rule in f, the file at rel: a
// 64-bit atomic call outside atomic64Views, or one on a field's address.
func atomic64Problems(fset *token.FileSet, rel string, f *ast.File) []string {
	var out []string
	for _, call := range atomic64Calls(f) {
		fn := call.Fun.(*ast.SelectorExpr).Sel.Name
		line := fset.Position(call.Pos()).Line
		if _, ok := atomic64Views[filepath.ToSlash(filepath.Dir(rel))]; !ok {
			out = append(out, fmt.Sprintf("%s:%d: atomic.%s outside the audited views: use an atomic.Uint64 or atomic.Int64 field, 8-byte aligned on every platform", rel, line, fn))
		}
		if u, ok := call.Args[0].(*ast.UnaryExpr); ok && u.Op == token.AND {
			if _, ok := u.X.(*ast.SelectorExpr); ok {
				out = append(out, fmt.Sprintf("%s:%d: atomic.%s on the address of a field: a uint64 field is only 4-byte aligned on 32-bit ARM; use atomic.Uint64", rel, line, fn))
			}
		}
	}
	return out
}

// atomic64Calls returns the calls in f of sync/atomic's functions on 64-bit
// words, whatever name f imports the package under.
func atomic64Calls(f *ast.File) []*ast.CallExpr {
	name := ""
	for _, imp := range f.Imports {
		if path, _ := strconv.Unquote(imp.Path.Value); path == "sync/atomic" {
			name = "atomic"
			if imp.Name != nil {
				name = imp.Name.Name
			}
		}
	}
	if name == "" {
		return nil
	}
	var calls []*ast.CallExpr
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); ok && x.Name == name && (strings.HasSuffix(sel.Sel.Name, "Uint64") || strings.HasSuffix(sel.Sel.Name, "Int64")) {
			calls = append(calls, call)
		}
		return true
	})
	return calls
}

// TestAtomic64Problems checks the audit finds both kinds of problem, under
// whatever name sync/atomic is imported.
func TestAtomic64Problems(t *testing.T) {
	src := `package p
import at "sync/atomic"
type s struct{ a uint32; b uint64 }
func f(x *s, p *uint64) {
	at.AddUint64(&x.b, 1)
	at.LoadInt64(nil)
	at.StoreUint32(nil, 0)
	_ = at.Uint64{}
}`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	require.NoError(t, err)
	var names []string
	for _, c := range atomic64Calls(f) {
		names = append(names, c.Fun.(*ast.SelectorExpr).Sel.Name)
	}
	assert.Equal(t, []string{"AddUint64", "LoadInt64"}, names)

	assert.Equal(t, []string{
		"mailbox/p.go:5: atomic.AddUint64 outside the audited views: use an atomic.Uint64 or atomic.Int64 field, 8-byte aligned on every platform",
		"mailbox/p.go:5: atomic.AddUint64 on the address of a field: a uint64 field is only 4-byte aligned on 32-bit ARM; use atomic.Uint64",
		"mailbox/p.go:6: atomic.LoadInt64 outside the audited views: use an atomic.Uint64 or atomic.Int64 field, 8-byte aligned on every platform",
	}, atomic64Problems(fset, "mailbox/p.go", f))
	assert.Equal(t, []string{
		"dmaring/p.go:5: atomic.AddUint64 on the address of a field: a uint64 field is only 4-byte aligned on 32-bit ARM; use atomic.Uint64",
	}, atomic64Problems(fset, "dmaring/p.go", f), "a field's address is refused in a view too")
}

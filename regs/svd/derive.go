package svd

import (
	"errors"
	"strings"
)

// resolveState tracks a node through derivedFrom resolution.
type resolveState uint8

const (
	stateNew       resolveState = iota
	stateMerging                // looking up and copying its base
	stateMerged                 // its own derivedFrom is applied
	stateResolving              // resolving its children
	stateDone                   // it and everything below it are final
)

// errCycle marks a derivedFrom that depends on itself.
var errCycle = errors.New("derivedFrom cycle")

// Element groups for merging a derived element with its base. Stating any
// tag of a group in the derived element keeps all of the base's tags of
// that group out: a field that states lsb/msb must not also inherit the
// base's bitOffset.
var (
	dimGroup      = []string{"dim", "dimIncrement", "dimIndex", "dimName", "dimArrayIndex"}
	positionGroup = []string{"bitOffset", "bitWidth", "lsb", "msb", "bitRange"}
)

// namedKids returns the elements that a dotted derivedFrom path steps into
// from n: the peripherals of a device, the registers and clusters of a
// peripheral or cluster, the fields of a register, the enumeratedValues of
// a field.
func namedKids(n *node) []*node {
	var out []*node
	add := func(container *node, tags ...string) {
		for _, k := range container.kids {
			for _, t := range tags {
				if k.tag == t {
					out = append(out, k)
				}
			}
		}
	}
	switch n.tag {
	case "device":
		for _, c := range n.kids {
			if c.tag == "peripherals" {
				add(c, "peripheral")
			}
		}
	case "peripheral":
		for _, c := range n.kids {
			if c.tag == "registers" {
				add(c, "register", "cluster")
			}
		}
	case "cluster":
		add(n, "register", "cluster")
	case "register":
		for _, c := range n.kids {
			if c.tag == "fields" {
				add(c, "field")
			}
		}
	case "field":
		add(n, "enumeratedValues")
	}
	return out
}

// derivable reports whether tag is an element that may carry derivedFrom.
func derivable(tag string) bool {
	switch tag {
	case "peripheral", "cluster", "register", "field", "enumeratedValues":
		return true
	}
	return false
}

// owner returns the nearest ancestor of n that is a derivable element or
// the device: the scope a reference from n is looked up in first.
func owner(n *node) *node {
	for p := n.up; p != nil; p = p.up {
		if p.tag == "device" || derivable(p.tag) {
			return p
		}
	}
	return nil
}

// matches reports whether the element n answers to the reference name ref:
// its stated name, or that name without "[%s]" or "%s".
func matches(n *node, ref string) bool {
	name := n.name()
	if name == ref {
		return true
	}
	if strings.Contains(name, "%s") {
		return strings.Replace(name, "[%s]", "", 1) == ref || strings.Replace(name, "%s", "", 1) == ref
	}
	return false
}

// resolver resolves every derivedFrom of a document.
type resolver struct {
	// index maps each scope a reference has stepped into to its named
	// kids by every name they answer to (see matches), in document order.
	// It is built once per scope, after the scope's own derivedFrom is
	// applied, so that a lookup costs no more than its matches.
	index map[*node]map[string][]*node
}

// kidsNamed returns the named kids of scope that answer to name, in
// document order. scope must be merged.
func (r *resolver) kidsNamed(scope *node, name string) []*node {
	idx, ok := r.index[scope]
	if !ok {
		idx = make(map[string][]*node)
		for _, k := range namedKids(scope) {
			n := k.name()
			idx[n] = append(idx[n], k)
			if strings.Contains(n, "%s") {
				a := strings.Replace(n, "[%s]", "", 1)
				b := strings.Replace(n, "%s", "", 1)
				if a != n {
					idx[a] = append(idx[a], k)
				}
				if b != a && b != n {
					idx[b] = append(idx[b], k)
				}
			}
		}
		if r.index == nil {
			r.index = make(map[*node]map[string][]*node)
		}
		r.index[scope] = idx
	}
	return idx[name]
}

// resolveAll resolves every derivedFrom below the device root.
func resolveAll(root *node) error {
	var r resolver
	return r.done(root)
}

// merged makes sure n's own derivedFrom is applied, so that its children
// are the final list.
func (r *resolver) merged(n *node) error {
	switch n.state {
	case stateMerging:
		return errorf(nodePath(n), n.line, "%w through %q", errCycle, n.derivedFrom)
	case stateNew:
	default:
		return nil
	}
	n.state = stateMerging
	if n.derived && derivable(n.tag) {
		if n.derivedFrom == "" {
			return errorf(nodePath(n), n.line, "empty derivedFrom")
		}
		base, err := r.lookup(n, n.derivedFrom)
		if err != nil {
			return err
		}
		for a := n.up; a != nil; a = a.up {
			if a == base {
				return errorf(nodePath(n), n.line, "%w: %q names an element that encloses this one", errCycle, n.derivedFrom)
			}
		}
		if err := r.done(base); err != nil {
			return err
		}
		n.kids = mergeKids(n, base)
	}
	n.state = stateMerged
	return nil
}

// done makes sure n and every element below it are resolved.
func (r *resolver) done(n *node) error {
	if err := r.merged(n); err != nil {
		return err
	}
	switch n.state {
	case stateResolving:
		return errorf(nodePath(n), n.line, "%w: an element derives from its own ancestor", errCycle)
	case stateDone:
		return nil
	}
	n.state = stateResolving
	for _, c := range n.kids {
		if err := r.doneTree(c); err != nil {
			return err
		}
	}
	n.state = stateDone
	return nil
}

// doneTree resolves the derivable elements in and below c, which may be a
// plain container such as <registers>.
func (r *resolver) doneTree(c *node) error {
	if derivable(c.tag) {
		return r.done(c)
	}
	if c.state == stateDone {
		return nil
	}
	for _, k := range c.kids {
		if err := r.doneTree(k); err != nil {
			return err
		}
	}
	c.state = stateDone
	return nil
}

// lookup finds the element that n's derivedFrom names. A reference is a
// name, or a dotted path of names such as "PERIPH.CLUSTER.REG". It is
// looked up relative to each enclosing scope of n from the innermost out to
// the device, where its first name is that of a peripheral; the first scope
// that has it wins. An enumeratedValues reference that is a plain name and
// is not found that way is searched for in every field below each scope.
func (r *resolver) lookup(n *node, ref string) (*node, error) {
	comps := strings.Split(ref, ".")
	for _, c := range comps {
		if c == "" {
			return nil, errorf(nodePath(n), n.line, "bad derivedFrom %q", ref)
		}
	}
	for scope := owner(n); scope != nil; scope = owner(scope) {
		found, err := r.walk(scope, comps, n)
		if err != nil {
			return nil, err
		}
		if found != nil {
			return found, nil
		}
	}
	if n.tag == "enumeratedValues" && len(comps) == 1 {
		seen := make(map[*node]bool)
		for scope := owner(n); scope != nil; scope = owner(scope) {
			if found := searchEnums(scope, ref, n, seen); found != nil {
				return found, nil
			}
		}
	}
	if len(comps) == 1 && matches(n, ref) {
		return nil, errorf(nodePath(n), n.line, "%w: derivedFrom %q names the element itself", errCycle, ref)
	}
	return nil, errorf(nodePath(n), n.line, "derivedFrom %q: no such %s", ref, n.tag)
}

// walk follows comps down from scope and returns the element of the kind of
// self it ends at, or nil. It passes over self: an element that shares its
// base's name derives from the other one.
func (r *resolver) walk(scope *node, comps []string, self *node) (*node, error) {
	cur := scope
	for i, c := range comps {
		if err := r.merged(cur); err != nil {
			return nil, err
		}
		var next *node
		for _, k := range r.kidsNamed(cur, c) {
			if k != self && (i < len(comps)-1 || k.tag == self.tag) {
				next = k
				break
			}
		}
		if next == nil {
			return nil, nil
		}
		cur = next
	}
	return cur, nil
}

// searchEnums looks for an enumeratedValues named name anywhere below n,
// in document order, skipping self.
func searchEnums(n *node, name string, self *node, seen map[*node]bool) *node {
	if seen[n] {
		return nil
	}
	seen[n] = true
	for _, k := range n.kids {
		if k.tag == "enumeratedValues" && k != self && k.name() == name {
			return k
		}
		if len(k.kids) > 0 && k.tag != "enumeratedValues" {
			if found := searchEnums(k, name, self, seen); found != nil {
				return found
			}
		}
	}
	return nil
}

// mergeKids returns the children of the derived element d: those of base,
// overridden by what d states. A single-valued child of d (name,
// description, size, ...) replaces the base's; a group (dim, the field
// position) is taken whole from one side; repeated children (interrupt,
// addressBlock, a field's enumeratedValues) come from d if it states any,
// else from base; and the lists of registers, clusters, fields and
// enumerated values are merged by name, d's elements replacing the base's
// of the same name and adding the rest. The nodes of base are shared, not
// copied.
func mergeKids(d, base *node) []*node {
	stated := make(map[string]bool, len(d.kids))
	for _, k := range d.kids {
		stated[k.tag] = true
	}
	statesGroup := func(g []string) bool {
		for _, t := range g {
			if stated[t] {
				return true
			}
		}
		return false
	}
	// The dim group comes along only where d's name can take it.
	takeDim := !statesGroup(dimGroup) && strings.Contains(d.name(), "%s")

	var out []*node
	listTags := listTagsOf(d.tag)
	// The lists merged by name sit either directly in d (cluster,
	// enumeratedValues) or in one container child (registers, fields).
	container := containerOf(d.tag)

	for _, k := range base.kids {
		switch {
		case k.tag == "name":
			// A derived element has a name of its own.
		case container != "" && k.tag == container:
		case container == "" && contains(listTags, k.tag):
		case contains(dimGroup, k.tag):
			if takeDim {
				out = append(out, k)
			}
		case contains(positionGroup, k.tag):
			if !statesGroup(positionGroup) {
				out = append(out, k)
			}
		case !stated[k.tag]:
			out = append(out, k)
		}
	}
	for _, k := range d.kids {
		switch {
		case container != "" && k.tag == container:
		case container == "" && contains(listTags, k.tag):
		default:
			out = append(out, k)
		}
	}

	// The merged list.
	var baseList, ownList []*node
	collect := func(n *node) []*node {
		var l []*node
		for _, k := range n.kids {
			if container != "" {
				if k.tag == container {
					for _, kk := range k.kids {
						if contains(listTags, kk.tag) {
							l = append(l, kk)
						}
					}
				}
			} else if contains(listTags, k.tag) {
				l = append(l, k)
			}
		}
		return l
	}
	baseList, ownList = collect(base), collect(d)
	if len(baseList) == 0 && len(ownList) == 0 {
		return out
	}
	list := mergeByName(baseList, ownList)
	if container != "" {
		line := d.line
		if c := d.child(container); c != nil {
			line = c.line
		} else if c := base.child(container); c != nil {
			line = c.line
		}
		out = append(out, &node{tag: container, line: line, up: d, kids: list, state: stateMerged})
	} else {
		out = append(out, list...)
	}
	return out
}

// listTagsOf returns the tags of the children that are merged by name
// for a derived element of kind tag.
func listTagsOf(tag string) []string {
	switch tag {
	case "peripheral", "cluster":
		return []string{"register", "cluster"}
	case "register":
		return []string{"field"}
	case "enumeratedValues":
		return []string{"enumeratedValue"}
	}
	return nil
}

// containerOf returns the tag of the child that holds the list of
// listTagsOf(tag), or "" when the list items are direct children.
func containerOf(tag string) string {
	switch tag {
	case "peripheral":
		return "registers"
	case "register":
		return "fields"
	}
	return ""
}

// mergeByName returns base with the elements of own replacing those of the
// same name, and the rest of own appended.
func mergeByName(base, own []*node) []*node {
	out := make([]*node, len(base), len(base)+len(own))
	copy(out, base)
	at := make(map[string]int, len(base))
	for i, k := range base {
		if name := k.name(); name != "" {
			if _, dup := at[name]; !dup {
				at[name] = i
			}
		}
	}
	for _, k := range own {
		if i, ok := at[k.name()]; ok && k.name() != "" {
			out[i] = k
			continue
		}
		out = append(out, k)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, t := range list {
		if t == s {
			return true
		}
	}
	return false
}

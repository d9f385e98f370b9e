package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// decodeStrict decodes the YAML document b over cfg, field by field, so
// that every error names the file, the line and the field:
//
//	payrecon.yaml:3: unknown field "timezon"
//	payrecon.yaml:12: reconcile.hold_days: want an integer (got "abc")
//
// Keys that are unknown or set twice are errors. Every error is reported,
// joined. Values decode as yaml.v3 decodes them (the typed values through
// their UnmarshalYAML); a null value keeps the default.
func decodeStrict(file string, b []byte, cfg *Config) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil // an empty file: the defaults
	}
	d := decoder{file: file}
	d.value(doc.Content[0], reflect.ValueOf(cfg).Elem(), "")
	return errors.Join(d.errs...)
}

// decoder walks a YAML node tree beside the Go value it fills.
type decoder struct {
	file string
	errs []error
}

// fail records an error at n's line; field is the dotted path of the value
// at fault, or of the mapping that holds an unknown key ("" at the top).
func (d *decoder) fail(n *yaml.Node, field, format string, args ...any) {
	var err error = FieldErr(field, format, args...)
	if field == "" {
		err = fmt.Errorf(format, args...)
	}
	d.errs = append(d.errs, fmt.Errorf("%s:%d: %w", d.file, n.Line, err))
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	switch {
	case reflect.PointerTo(v.Type()).Implements(reflect.TypeFor[yaml.Unmarshaler]()):
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n, field, "%v", err)
		}
	case v.Kind() == reflect.Struct:
		d.mapping(n, v, field)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		d.sequence(n, v, field)
	default:
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n, field, "want %s (got %s)", want(v.Type()), shown(n))
		}
	}
}

// mapping fills the struct v from the mapping n, by yaml tag.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "want a mapping (got %s)", shown(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			d.merge(val, v, field)
			continue
		}
		f, ok := fieldByTag(v, k.Value)
		switch {
		case !ok:
			d.fail(k, field, "unknown field %q", k.Value)
		case seen[k.Value]:
			d.fail(k, field, "field %q is set twice", k.Value)
		default:
			seen[k.Value] = true
			d.value(val, f, joinField(field, k.Value))
		}
	}
}

// merge applies a "<<" merge key: a mapping, or a list of them.
func (d *decoder) merge(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.SequenceNode {
		for _, m := range n.Content {
			d.merge(m, v, field)
		}
		return
	}
	d.mapping(n, v, field)
}

// sequence fills the slice of structs v from the list n.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, field, "want a list (got %s)", shown(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.value(item, s.Index(i), fmt.Sprintf("%s[%d]", field, i))
	}
	v.Set(s)
}

// fieldByTag returns the exported field of struct v whose yaml tag is name.
func fieldByTag(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if tag, _, _ := strings.Cut(sf.Tag.Get("yaml"), ","); sf.IsExported() && tag == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func joinField(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// want describes the YAML a plain Go type accepts.
func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(want(t.Elem()), "a ") + "s"
	}
	return "a " + t.Kind().String()
}

package engine

import "fmt"

// The list type's effects (ops from opListFirst): not yet implemented.

func appendListFields(dst []byte, ef *Effect) []byte { return dst }

func decodeListFields(d *decoder, ef *Effect) bool { return false }

func (tx *Tx) applyList(ef *Effect) error {
	return fmt.Errorf("engine: apply: unknown op %d", ef.Op)
}

package engine

import "fmt"

// The hash type's effects (ops from opHashFirst): not yet implemented.

func appendHashFields(dst []byte, ef *Effect) []byte { return dst }

func decodeHashFields(d *decoder, ef *Effect) bool { return false }

func (tx *Tx) applyHash(ef *Effect) error {
	return fmt.Errorf("engine: apply: unknown op %d", ef.Op)
}

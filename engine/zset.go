package engine

import "fmt"

// The zset type's effects (ops from opZSetFirst): not yet implemented.

func appendZSetFields(dst []byte, ef *Effect) []byte { return dst }

func decodeZSetFields(d *decoder, ef *Effect) bool { return false }

func (tx *Tx) applyZSet(ef *Effect) error {
	return fmt.Errorf("engine: apply: unknown op %d", ef.Op)
}

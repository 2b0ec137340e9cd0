package server

// hashCommands returns the hashes command family (not yet implemented).
func hashCommands() []*command { return nil }

// hashSyntax documents the family's arguments for COMMAND DOCS (see docs.go).
var hashSyntax = map[string]string{}

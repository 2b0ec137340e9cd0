package server

// zsetCommands returns the zsets command family (not yet implemented).
func zsetCommands() []*command { return nil }

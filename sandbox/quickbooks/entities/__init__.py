"""The QuickBooks entities the stand-in keeps, one module each for those with rules."""

"""What the preflight prints: the document model, its JSON Schema, the renderers and the number format."""

# Shorthands for the two README commands.
.PHONY: serve test

serve:
	./scripts/serve

test:
	./scripts/test

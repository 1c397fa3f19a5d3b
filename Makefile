# Conveniences over the scripts the README names (which need nothing but bash, so they
# work on a fresh Debian 12 machine before `make` is installed).
.PHONY: demo test bench clean format

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

bench:
	./bench/e2e/run.sh

format:
	find src tests tools bench fuzz -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf build

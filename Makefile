# payrecon — see README.md.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
FUZZTIME ?= 30s
# Fuzz targets: package:Target
FUZZ_TARGETS := \
	./provider/alipay:FuzzVerify \
	./provider/alipay:FuzzParseBillCSV \
	./provider/alipay:FuzzParseBillGBK \
	./provider/wechatpay:FuzzParseBill \
	./provider/wechatpay:FuzzVerify \
	./provider/wechatpay:FuzzParseXML \
	./notify:FuzzHandler \
	.:FuzzParseYuan \
	.:FuzzParseRatePPM \
	.:FuzzParseBeijingTime \
	./reports/deliver:FuzzFit \
	./store:FuzzParseStoredTime

export CGO_ENABLED := 1

.PHONY: all build test demo bench fuzz lint golden clean testdata

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o dist/payrecon ./cmd/payrecon

# Everything, with the race detector. Fuzz targets run their seed corpus
# here and briefly fuzz below (FUZZ_SHORT).
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=3s

# make demo DEMO_ARGS=-keep leaves the ops console up until Ctrl-C.
demo: build
	./dist/payrecon demo $(DEMO_ARGS)

# The intake benchmark, then the reconciliation benchmark (pandas merge,
# parse + diff, workbook and a raw excelize StreamWriter loop, side by side;
# pandas when python3-pandas is installed). BENCH_ROWS=1000000 for the
# million-row day the README quotes (about 5 minutes).
BENCH_ROWS ?= 200000
bench: build
	./dist/payrecon bench-intake
	./dist/payrecon bench-reconcile -rows $(BENCH_ROWS)

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)

# Rewrite the golden files (reconcile/testdata/*.txt want sections,
# reports/testdata/workbook_*.golden, jobs/testdata/summary_*.golden) after an
# intended change; read the diff.
golden:
	$(GO) test -count=1 ./reconcile ./reports -update
	$(GO) test -count=1 ./jobs -run TestSummaryGolden -update

# Regenerate the sandbox merchant in testdata/sandbox (throw-away keys and a
# config, see testdata/README.md). Tests then use the new keys.
testdata: build
	rm -rf testdata/sandbox
	./dist/payrecon sandbox init -dir testdata/sandbox
	rm -rf testdata/sandbox/var

clean:
	rm -rf dist

"""The driver: everything that joins the layers below it — the compiler API, the seed tool's API, the command line,
zoo builds, the MXNet reference and numeric verification. Only the driver imports both passes and backends."""

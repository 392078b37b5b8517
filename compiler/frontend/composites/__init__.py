"""The frontend's composites: builders for MXNet ops whose attributes or outputs differ from any one op definition's,
one module per family of ops. compiler.frontend.lowering imports every module here; each registers its builders with
`@composite`, which claims their MXNet names."""

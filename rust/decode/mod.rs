//! ONNX protobuf decoding: the in-place wire reader used on the device.

/* The model file, linked into flash (section .model): rtonnx_model_start..rtonnx_model_end.
 * RTONNX_MODEL_FILE is the path of the .onnx file, given by the Makefile. */
    .section .model, "a"
    .balign 8
    .global rtonnx_model_start
    .global rtonnx_model_end
rtonnx_model_start:
    .incbin RTONNX_MODEL_FILE
rtonnx_model_end:
    .byte 0

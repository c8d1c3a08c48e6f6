/* The model file, linked into flash (section .model): rtonnx_model_start..rtonnx_model_end.
 * RTONNX_MODEL_FILE is the path of the .onnx or .rtm file, given by the Makefile. */
    .section .model, "a"
    /* 16: a compiled plan's weight section is 16-byte aligned within the file, and used in
     * place only when it is aligned in memory too. */
    .balign 16
    .global rtonnx_model_start
    .global rtonnx_model_end
rtonnx_model_start:
    .incbin RTONNX_MODEL_FILE
rtonnx_model_end:
    .byte 0

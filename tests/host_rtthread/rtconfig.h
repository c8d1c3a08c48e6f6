/* Configuration of the host port of RT-Thread (tests/host_rtthread), in the place of a BSP's
 * generated rtconfig.h: the kernel settings the port honours and the rtonnx package options
 * as menuconfig would write them. Every value can be overridden with -D. */
#ifndef RT_CONFIG_H__
#define RT_CONFIG_H__

/* Kernel */
#define RT_NAME_MAX 8
#ifndef RT_TICK_PER_SECOND
#define RT_TICK_PER_SECOND 1000
#endif
/* rt_kprintf cuts longer lines, as on the STM32F407 BSPs. */
#ifndef RT_CONSOLEBUF_SIZE
#define RT_CONSOLEBUF_SIZE 128
#endif
#define RT_USING_HEAP
#define RT_USING_FINSH
#define RT_USING_DFS
#define DFS_USING_POSIX

/* rtonnx package (Kconfig) */
#define PKG_USING_RTONNX
#define PKG_USING_RTONNX_LATEST_VERSION
#define PKG_RTONNX_VER "latest"
#define RTONNX_USING_FILE
#ifndef RTONNX_MODEL_PATH
/* Relative: the host msh runs in a directory that plays the SD card. */
#define RTONNX_MODEL_PATH "mnist-sm.onnx"
#endif
#ifndef RTONNX_EXAMPLE_STACK_SIZE
#define RTONNX_EXAMPLE_STACK_SIZE 8192
#endif
#define RTONNX_EXAMPLE_PRIORITY 20
#define RTONNX_USING_EXAMPLE_ONNX_MNIST
#define RTONNX_USING_EXAMPLE_MNIST_SM
#define RTONNX_USING_EXAMPLE_MNIST_MODEL

#endif

/* The MNIST digits of examples/mnist_images.h, defined once for all the examples (each
 * example includes the header for the declarations only). */
#define MNIST_IMAGES_DEFINE
#include "mnist_images.h"

/* Stand-ins for the three XFree86-VidMode calls hello_xr's OpenGL window makes on Xlib.
 *
 * hello_xr asks the X server for its display modes when it opens its (hidden) OpenGL
 * window; Xvfb has no VidMode extension, the call fails and hello_xr dereferences the
 * missing list. Preloaded into hello_xr only (LD_PRELOAD, by tools/bench_app_frame.py),
 * these report one 1280x1024 mode at 60 Hz, the size of the sandbox's Xvfb screen, and
 * accept mode switches without doing anything. Nothing here touches rendering.
 *
 * Built inside the XR sandbox with tcc (no C library headers there):
 *     tcc -shared -nostdlib -o hello_xr_vidmode.so tools/hello_xr_vidmode.c
 */

typedef unsigned long size_t;
void *malloc(size_t size);

/* The layout of XF86VidModeModeInfo (X11/extensions/xf86vmode.h). */
typedef struct {
    unsigned int dotclock; /* kHz */
    unsigned short hdisplay, hsyncstart, hsyncend, htotal, hskew;
    unsigned short vdisplay, vsyncstart, vsyncend, vtotal;
    unsigned int flags;
    int privsize;
    int *private_data;
} ModeInfo;

/* One allocation holding the pointer list and the mode, as libXxf86vm returns it: the
 * caller frees both with one XFree (free). */
int XF86VidModeGetAllModeLines(void *display, int screen, int *count, ModeInfo ***modes) {
    ModeInfo **list = malloc(sizeof(ModeInfo *) + sizeof(ModeInfo));
    ModeInfo *mode;
    if (!list) return 0;
    mode = (ModeInfo *)(list + 1);
    *mode = (ModeInfo){108000, 1280, 1328, 1440, 1688, 0, 1024, 1025, 1028, 1066, 0, 0, 0};
    list[0] = mode;
    *count = 1;
    *modes = list;
    return 1;
}

int XF86VidModeSwitchToMode(void *display, int screen, ModeInfo *mode) { return 1; }

int XF86VidModeSetViewPort(void *display, int screen, int x, int y) { return 1; }

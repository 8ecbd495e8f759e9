/* Consumer of the installed ABI headers. */
#include <vmi/vmi.h>

int main(void)
{
    return VMI_HC_NOP == 0 && sizeof(struct vmi_clock_record) == 32 ? 0 : 1;
}

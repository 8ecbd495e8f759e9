/* SPDX-License-Identifier: MIT */
/* main.c: vmi-run's command line, exit codes and top-level flow. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"

static const char usage[] =
    "usage: vmi-run [options] GUEST.elf\n"
    "       vmi-run [options] --restore FILE\n"
    "\n"
    "Runs a 64-bit ELF guest kernel under Linux KVM with the OpenVMI\n"
    "paravirtual interface (port-I/O transport, doorbell port 0x0520 unless\n"
    "--port says otherwise; the guest learns it from CPUID).\n"
    "\n"
    "options:\n"
    "  --mem MIB            guest RAM in MiB (default 64, at most 3072)\n"
    "  --vcpus N            vCPUs (default 1, at most 64)\n"
    "  --timeout SECONDS    stop the guest after this long (exit 124)\n"
    "  --cmdline STR        command line handed to the guest\n"
    "  --strict             report the guest's OpenVMI violations (with\n"
    "                       clause IDs) on stderr\n"
    "  --save FILE          snapshot file, written on SIGUSR2 or after\n"
    "  --save-after MS      milliseconds; vmi-run exits 0 once saved\n"
    "  --restore FILE       continue a saved VM (no GUEST.elf)\n"
    "  --console-flood N    refused console bytes that count as a flood\n"
    "                       (default 1048576; exit 121)\n"
    "  --timers N           one-shot timers of the VM (default 16384)\n"
    "  --kernel-irqchip     deliver upcalls through KVM's in-kernel local\n"
    "                       APIC (KVM_SIGNAL_MSI) instead of KVM_INTERRUPT;\n"
    "                       does not work on KVM-PVM\n"
    "  --pagetable          also offer the page-table profile (VMI_F_PT)\n"
    "  --spurious-wakes     end every other BLOCK that would sleep at once\n"
    "                       with VMI_WAKE_SPURIOUS (tests guests' idle loops)\n"
    "  --port PORT          doorbell I/O port, 1 to 0xffff (default 0x520;\n"
    "                       a restored VM keeps the port it was saved with)\n"
    "  --quiet              no vmi-run messages on a normal guest exit\n"
    "  --stats              print exit and hypercall counts, RSS drop\n"
    "  --help               this text\n"
    "\n"
    "exit status:\n"
    "  0-118  the guest powered off (SHUTDOWN POWEROFF) with this status\n"
    "         (0 also after --save wrote the snapshot)\n"
    "  119    the guest powered off with a status from 119 to 255 (printed)\n"
    "  120    the guest asked for a reboot (SHUTDOWN REBOOT)\n"
    "  121    console flood: the guest kept writing past the rate limit\n"
    "  122    guest panic: SHUTDOWN with reason CRASH\n"
    "  123    guest crash: triple fault, KVM internal error, failed entry,\n"
    "         access outside RAM or another unexpected exit\n"
    "  124    timeout (--timeout)\n"
    "  125    vmi-run error: bad option, bad ELF or snapshot, KVM failure\n";

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;

    errno = 0;
    *v = strtoull(s, &end, 0);
    return errno || end == s || *end;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"mem", required_argument, 0, 'm'},
        {"vcpus", required_argument, 0, 'c'},
        {"timeout", required_argument, 0, 't'},
        {"cmdline", required_argument, 0, 'l'},
        {"strict", no_argument, 0, 's'},
        {"save", required_argument, 0, 'S'},
        {"save-after", required_argument, 0, 'A'},
        {"restore", required_argument, 0, 'R'},
        {"console-flood", required_argument, 0, 'F'},
        {"timers", required_argument, 0, 'T'},
        {"quiet", no_argument, 0, 'q'},
        {"kernel-irqchip", no_argument, 0, 'K'},
        {"pagetable", no_argument, 0, 'P'},
        {"spurious-wakes", no_argument, 0, 'W'},
        {"port", required_argument, 0, 'p'},
        {"stats", no_argument, 0, 'x'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct vmm_opts o = {
        .cmdline = "",
        .mem_mib = 64,
        .vcpus = 1,
        .save_after_ms = -1,
        .console_flood_bytes = 1u << 20,
        .timer_count = 16384,
        .port = VMM_DEFAULT_DOORBELL_PORT,
    };
    static struct vmm vm;
    char why[512];
    uint64_t n;
    int c, code;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (parse_u64(optarg, &o.mem_mib) || o.mem_mib < 2 ||
                o.mem_mib > 3072) {
                fprintf(stderr, "vmi-run: --mem: 2 to 3072 MiB\n");
                return VMM_EXIT_ERROR;
            }
            break;
        case 'c':
            if (parse_u64(optarg, &n) || n < 1 || n > VMM_MAX_VCPUS) {
                fprintf(stderr, "vmi-run: --vcpus: 1 to %u\n", VMM_MAX_VCPUS);
                return VMM_EXIT_ERROR;
            }
            o.vcpus = (uint32_t)n;
            break;
        case 't': {
            char *end;

            o.timeout_s = strtod(optarg, &end);
            if (end == optarg || *end || o.timeout_s <= 0) {
                fprintf(stderr, "vmi-run: --timeout: a positive number of "
                                "seconds\n");
                return VMM_EXIT_ERROR;
            }
            break;
        }
        case 'l':
            o.cmdline = optarg;
            break;
        case 's':
            o.strict = 1;
            break;
        case 'P':
            o.pagetable = 1;
            break;
        case 'p':
            /* Port 0 is refused: a host without the port transport
             * announces 0 there. */
            if (parse_u64(optarg, &n) || n < 1 || n > 0xFFFF) {
                fprintf(stderr, "vmi-run: --port: an I/O port from 1 to "
                                "0xffff (decimal or 0x hex)\n");
                return VMM_EXIT_ERROR;
            }
            o.port = (uint16_t)n;
            o.port_set = 1;
            break;
        case 'S':
            o.save_file = optarg;
            break;
        case 'A':
            if (parse_u64(optarg, &n) || n > INT64_MAX / 1000000) {
                fprintf(stderr, "vmi-run: --save-after: milliseconds\n");
                return VMM_EXIT_ERROR;
            }
            o.save_after_ms = (int64_t)n;
            break;
        case 'R':
            o.restore_file = optarg;
            break;
        case 'F':
            if (parse_u64(optarg, &o.console_flood_bytes)) {
                fprintf(stderr, "vmi-run: --console-flood: bytes\n");
                return VMM_EXIT_ERROR;
            }
            break;
        case 'T':
            if (parse_u64(optarg, &n) || n < 1 || n > VMI_HOST_MAX_TIMERS) {
                fprintf(stderr, "vmi-run: --timers: 1 to %u\n",
                        VMI_HOST_MAX_TIMERS);
                return VMM_EXIT_ERROR;
            }
            o.timer_count = (uint32_t)n;
            break;
        case 'K':
            o.kernel_irqchip = 1;
            break;
        case 'W':
            o.spurious_wakes = 1;
            break;
        case 'q':
            o.quiet = 1;
            break;
        case 'x':
            o.stats = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return VMM_EXIT_ERROR;
        }
    }
    if (o.restore_file ? optind != argc : optind != argc - 1) {
        fputs(usage, stderr);
        return VMM_EXIT_ERROR;
    }
    if (o.save_after_ms >= 0 && !o.save_file) {
        fprintf(stderr, "vmi-run: --save-after needs --save FILE\n");
        return VMM_EXIT_ERROR;
    }
    if (!o.restore_file)
        o.kernel = argv[optind];
    else if (vmm_snapshot_peek(o.restore_file, &o, why, sizeof(why)) != 0) {
        fprintf(stderr, "vmi-run: cannot restore %s: %s\n", o.restore_file,
                why);
        return VMM_EXIT_ERROR;
    }

    /*
     * Timer wake-ups (host timers, BLOCK deadlines) inherit this slack; the
     * default 50 us doubles the guest's timer lateness (vmi-bench measured
     * 95 us -> 44 us median on KVM-PVM).
     */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    if (vmm_create(&vm, &o, why, sizeof(why)) != 0 ||
        (o.restore_file
             ? vmm_snapshot_restore(&vm, o.restore_file, why, sizeof(why))
             : vmm_load_kernel(&vm, why, sizeof(why))) != 0) {
        fprintf(stderr, "vmi-run: %s\n", why);
        vmm_destroy(&vm);
        return VMM_EXIT_ERROR;
    }
    code = vmm_run(&vm);
    fflush(stdout);
    if (!o.quiet || code > VMM_EXIT_GUEST_HIGH)
        fprintf(stderr, "vmi-run: %s (exit %d)\n", vm.exit_msg, code);
    if (o.stats)
        vmm_print_stats(&vm);
    vmm_destroy(&vm);
    return code;
}

using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Airlock.ClaudeCode.Hooks;

/// <summary>
/// Starts the sender with <c>posix_spawn</c> in a new session (<c>POSIX_SPAWN_SETSID</c>) with stdin, stdout and
/// stderr on /dev/null. <see cref="Process"/> is not used: it cannot detach a child from the caller's pipes (Claude
/// Code reads the hook's stdout and stderr until EOF, so a child holding them would stall the developer), and it
/// brings its SIGCHLD machinery and a larger image into a binary whose start-up is the budget.
/// Every other descriptor .NET opens is close-on-exec, so the child holds nothing of the hook's.
/// </summary>
public static partial class ProcessSpawner
{
    private const int ORdOnly = 0;
    private const int OWrOnly = 1;
    private const int WNoHang = 1;

    /// <summary>Starts <paramref name="path"/> detached; its pid, or 0 when it could not be started (never throws).</summary>
    public static unsafe int SpawnDetached(string path, string[] argv)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(argv);
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) || !File.Exists(path))
        {
            return 0;
        }
        // glibc: POSIX_SPAWN_SETSID = 0x80 (glibc 2.26); macOS: 0x400. The opaque structs are smaller than 1 KB on both.
        var setsid = OperatingSystem.IsMacOS() ? (short)0x400 : (short)0x80;
        var actions = NativeMemory.AllocZeroed(1024);
        var attributes = NativeMemory.AllocZeroed(1024);
        var environment = EnvironmentBlock();
        var arguments = new IntPtr[argv.Length + 1];
        var envp = new IntPtr[environment.Length + 1];
        var strings = new List<IntPtr>(argv.Length + environment.Length + 2);
        try
        {
            for (var i = 0; i < argv.Length; i++)
            {
                strings.Add(arguments[i] = Marshal.StringToCoTaskMemUTF8(argv[i]));
            }
            for (var i = 0; i < environment.Length; i++)
            {
                strings.Add(envp[i] = Marshal.StringToCoTaskMemUTF8(environment[i]));
            }
            var devNull = Marshal.StringToCoTaskMemUTF8("/dev/null");
            strings.Add(devNull);
            var file = Marshal.StringToCoTaskMemUTF8(path);
            strings.Add(file);
            if (posix_spawn_file_actions_init(actions) != 0)
            {
                return 0;
            }
            // Without /dev/null on all three or without a session of its own the child must not start (it would hold the hook's pipes).
            var prepared = posix_spawn_file_actions_addopen(actions, 0, devNull, ORdOnly, 0) == 0
                && posix_spawn_file_actions_addopen(actions, 1, devNull, OWrOnly, 0) == 0
                && posix_spawn_file_actions_addopen(actions, 2, devNull, OWrOnly, 0) == 0
                && posix_spawnattr_init(attributes) == 0
                && posix_spawnattr_setflags(attributes, setsid) == 0;
            var pid = 0;
            var result = -1;
            if (prepared)
            {
                fixed (IntPtr* argvPointer = arguments)
                fixed (IntPtr* envpPointer = envp)
                {
                    result = posix_spawn(&pid, file, actions, attributes, argvPointer, envpPointer);
                }
            }
            _ = posix_spawnattr_destroy(attributes);
            _ = posix_spawn_file_actions_destroy(actions);
            return result == 0 ? pid : 0;
        }
        finally
        {
            foreach (var s in strings)
            {
                Marshal.FreeCoTaskMem(s);
            }
            NativeMemory.Free(actions);
            NativeMemory.Free(attributes);
        }
    }

    /// <summary>Waits for a child (polling, no SIGCHLD handler); false when it still runs after <paramref name="timeout"/>.</summary>
    public static bool WaitForExit(int pid, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var done = waitpid(pid, IntPtr.Zero, WNoHang);
            if (done == pid || done < 0)
            {
                return true;
            }
            if (Stopwatch.GetTimestamp() >= deadline)
            {
                return false;
            }
            Thread.Sleep(5);
        }
    }

    private static string[] EnvironmentBlock()
    {
        var variables = Environment.GetEnvironmentVariables();
        var result = new string[variables.Count];
        var i = 0;
        foreach (System.Collections.DictionaryEntry entry in variables)
        {
            result[i++] = $"{entry.Key}={entry.Value}";
        }
        return result;
    }

    [LibraryImport("libc", SetLastError = false)]
    private static unsafe partial int posix_spawn(int* pid, IntPtr path, void* fileActions, void* attributes, IntPtr* argv, IntPtr* envp);

    [LibraryImport("libc")]
    private static unsafe partial int posix_spawn_file_actions_init(void* fileActions);

    [LibraryImport("libc")]
    private static unsafe partial int posix_spawn_file_actions_destroy(void* fileActions);

    [LibraryImport("libc")]
    private static unsafe partial int posix_spawn_file_actions_addopen(void* fileActions, int fd, IntPtr path, int flags, int mode);

    [LibraryImport("libc")]
    private static unsafe partial int posix_spawnattr_init(void* attributes);

    [LibraryImport("libc")]
    private static unsafe partial int posix_spawnattr_destroy(void* attributes);

    [LibraryImport("libc")]
    private static unsafe partial int posix_spawnattr_setflags(void* attributes, short flags);

    [LibraryImport("libc")]
    private static partial int waitpid(int pid, IntPtr status, int options);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int execv(string path, IntPtr[] argv);

    /// <summary>Replaces this process with <paramref name="path"/> (same stdio, same pid); returns only on failure.</summary>
    public static void Exec(string path, string[] argv)
    {
        ArgumentNullException.ThrowIfNull(argv);
        var arguments = new IntPtr[argv.Length + 1];
        for (var i = 0; i < argv.Length; i++)
        {
            arguments[i] = Marshal.StringToCoTaskMemUTF8(argv[i]);
        }
        _ = execv(path, arguments);
        for (var i = 0; i < argv.Length; i++)
        {
            Marshal.FreeCoTaskMem(arguments[i]);
        }
    }
}

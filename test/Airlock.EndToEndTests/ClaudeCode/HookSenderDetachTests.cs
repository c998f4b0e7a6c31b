using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Airlock.ClaudeCode.Events;
using Airlock.ClaudeCode.Hooks;
using Airlock.Testing;

namespace Airlock.EndToEndTests.ClaudeCode;

/// <summary>
/// The NativeAOT <c>airlock-hook</c> hands its network work to <c>airlock-hook-send</c> without waiting for it and
/// without lending it its pipes: Claude Code reads the hook's stdout and stderr until EOF, so a sender that held them
/// would stall every tool call for as long as the gateway takes to answer.
/// </summary>
public sealed class HookSenderDetachTests : IDisposable
{
    private readonly string _state = Path.Combine(Path.GetTempPath(), "airlock-hook-detach-" + Guid.NewGuid().ToString("N"));

    [ClaudeCodeFact]
    public async Task The_hook_closes_its_pipes_and_exits_while_the_sender_still_waits_on_a_silent_gateway()
    {
        var hook = await HookBinary.GetAsync();
        var sender = Path.Combine(Path.GetDirectoryName(hook)!, "airlock-hook-send");
        Assert.True(File.Exists(sender), $"{sender} is published next to the hook");

        // A gateway that accepts connections and never answers: the sender hangs in its send until its own timeout.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var gateway = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}";
        var accepted = silent.AcceptTcpClientAsync();

        var state = new HookState(_state);
        state.WriteCredential(new HookCredential(gateway, "alk_test_detached"));
        // A fresh cached policy, so the only network work left is the event delivery after the answer.
        state.WritePrivate(state.PolicyPath, HookPolicy.BuiltIn.ToJson(DateTimeOffset.UtcNow));

        var startInfo = new ProcessStartInfo(hook, ["--state-dir", _state])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(startInfo)!;
        await process.StandardInput.WriteAsync("""{"session_id":"s1","hook_event_name":"PostToolUse","tool_name":"Read","tool_input":{"file_path":"/tmp/x"},"cwd":"/tmp"}""");
        process.StandardInput.Close();
        // EOF on both pipes means no process holds them any more (the sender got /dev/null).
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var streams = Task.WhenAll(stdout, stderr);
        Assert.Same(streams, await Task.WhenAny(streams, Task.Delay(TimeSpan.FromSeconds(90))));
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);

        // The sender really ran and is still connected to the silent gateway after the hook's pipes closed.
        Assert.Same(accepted, await Task.WhenAny(accepted, Task.Delay(TimeSpan.FromSeconds(90))));
        using var connection = await accepted;
        Assert.Equal(1, new EventSpool(state.QueueDirectory).Count);
        var request = new byte[4096];
        var read = await connection.GetStream().ReadAsync(request);
        Assert.Contains("POST /airlock/v1/events", Encoding.ASCII.GetString(request, 0, read), StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_state))
        {
            Directory.Delete(_state, recursive: true);
        }
    }
}

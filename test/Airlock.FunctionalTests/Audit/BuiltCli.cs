using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Airlock.FunctionalTests.Audit;

/// <summary>The built <c>airlock</c> CLI (Release), run as a separate process the way an operator runs it.</summary>
internal static class BuiltCli
{
    /// <summary>Path of <c>airlock.dll</c>; fails the test when the CLI was not built.</summary>
    public static string Path
    {
        get
        {
            var root = AppContext.BaseDirectory;
            while (!File.Exists(System.IO.Path.Combine(root, "Airlock.slnx")))
            {
                root = System.IO.Path.GetDirectoryName(root)!;
            }
            var cli = System.IO.Path.Combine(root, "src", "Airlock.Cli", "bin", "Release", "net10.0", "airlock.dll");
            Assert.True(File.Exists(cli), $"build the CLI first: {cli}");
            return cli;
        }
    }

    /// <summary>Starts a long-running command (e.g. <c>serve</c>) in <paramref name="work"/>; its output is drained.</summary>
    public static Process Start(string work, params string[] args)
    {
        var process = Process.Start(Info(work, args))!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Runs a command to its end and returns its standard output; fails the test on a non-zero exit.</summary>
    public static async Task<string> RunAsync(string work, params string[] args)
    {
        using var process = Process.Start(Info(work, args))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"airlock {string.Join(' ', args)} exited {process.ExitCode}: {await error}");
        return await output;
    }

    /// <summary>A loopback port free right now, for <c>serve --urls</c>.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A <c>POST /v1/messages</c> for a served gateway: one user turn, authenticated with the gateway key <paramref name="key"/>.</summary>
    public static HttpRequestMessage MessagesRequest(string key, string content = "hi", int maxTokens = 16, bool stream = false)
    {
        var body = $$"""{"model":"claude-opus-5-5","max_tokens":{{maxTokens}},"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"{{content}}"}]}""";
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("x-api-key", key);
        request.Headers.Add("anthropic-version", "2023-06-01");
        return request;
    }

    /// <summary>
    /// Waits on the gateway's state, not on a clock: ready when <c>/healthz</c> answers; a failure when the process
    /// exited first or <paramref name="patience"/> (default 180 s) ran out.
    /// </summary>
    public static async Task WaitHealthyAsync(HttpClient http, Process serve, TimeSpan? patience = null)
    {
        using var bound = new CancellationTokenSource(patience ?? TimeSpan.FromSeconds(180));
        while (true)
        {
            Assert.False(serve.HasExited, "airlock serve exited before it was healthy");
            try
            {
                if ((await http.GetAsync("/healthz", bound.Token)).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200, bound.Token);
        }
    }

    private static ProcessStartInfo Info(string work, string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = work, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        // Quickstart with the simulated model: no upstream credential from the environment.
        info.Environment.Remove("ANTHROPIC_API_KEY");
        info.Environment.Remove("AIRLOCK_UPSTREAM_URL");
        return info;
    }
}

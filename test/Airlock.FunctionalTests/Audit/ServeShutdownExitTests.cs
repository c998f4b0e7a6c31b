using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Airlock.FunctionalTests.Audit;

/// <summary>
/// A real <c>airlock serve</c> whose audit store is dead at shutdown (another process holds the SQLite write lock)
/// and whose spool cannot be written (its path is a directory): after <c>audit.shutdown_timeout</c> (the default
/// 30 s) the process exits, names the lost records by count and request id only, and exits with code 3. Every wait
/// is on the process's own state (exit, output), bounded generously.
/// </summary>
public sealed class ServeShutdownExitTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Records_neither_committed_nor_spooled_at_shutdown_are_logged_by_request_id_and_serve_exits_3()
    {
        var work = Path.Combine(Path.GetTempPath(), "airlock-exit-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            var admin = JsonDocument.Parse(await BuiltCli.RunAsync(work, "keys", "create", "--user", "root", "--role", "admin", "--json"))
                .RootElement.GetProperty("key").GetString()!;
            // The spool's path is taken by a directory: nothing can be spooled.
            Directory.CreateDirectory(Path.Combine(work, ".airlock", "audit-spool.jsonl"));
            var port = BuiltCli.FreePort();
            var output = new StringBuilder();
            using var serve = StartServe(work, port, output);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(90) };
            await BuiltCli.WaitHealthyAsync(http, serve, Generous);

            // Another process takes the database's write lock and keeps it: the store is dead from here on.
            await using var locker = new SqliteConnection($"Data Source={Path.Combine(work, ".airlock", "airlock.db")};Pooling=False;Default Timeout=60");
            await locker.OpenAsync();
            using (var exclusive = locker.CreateCommand())
            {
                exclusive.CommandText = "BEGIN EXCLUSIVE";
                await exclusive.ExecuteNonQueryAsync();
            }
            // An admin call must commit its record before answering: it cannot, so it gets 503 and the record stays queued.
            using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/audit/public-key");
            request.Headers.Add("x-api-key", admin);
            using var response = await http.SendAsync(request);
            var requestId = response.Headers.GetValues("x-airlock-request-id").Single();
            using (Process.Start("kill", ["-TERM", serve.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            {
            }
            using var bound = new CancellationTokenSource(Generous);
            await serve.WaitForExitAsync(bound.Token);
            serve.WaitForExit();
            var log = output.ToString();

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal(3, serve.ExitCode);
            var lost = Assert.Single(log.Split('\n'), line => line.Contains("Audit records LOST", StringComparison.Ordinal));
            Assert.Contains("1 record(s)", lost, StringComparison.Ordinal);
            Assert.Contains(requestId, lost, StringComparison.Ordinal);
            Assert.DoesNotContain(admin, log, StringComparison.Ordinal);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(work, recursive: true);
        }
    }

    private static Process StartServe(string work, int port, StringBuilder output)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = work, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(BuiltCli.Path);
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        info.Environment.Remove("ANTHROPIC_API_KEY");
        info.Environment.Remove("AIRLOCK_UPSTREAM_URL");
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.Append(line).Append('\n');
            }
        }
    }
}

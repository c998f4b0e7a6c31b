using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Storage.Sqlite;
using Airlock.Tests.Audit;

namespace Airlock.Tests.Cli;

/// <summary>
/// <c>airlock audit list / show / export / verify / public-key</c> run as the real CLI process (the built
/// <c>airlock.dll</c>) against a real SQLite trail in a temporary directory: filters, formats, exit codes, and a
/// tampered store whose first bad record <c>verify</c> must name.
/// </summary>
public sealed class AuditCommandTests : IAsyncLifetime
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "airlock-cli-" + Guid.NewGuid().ToString("N"));

    private string DataDir => Path.Combine(_work, ".airlock");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_work);
        // The gateway's signing key, made by the CLI itself, then a trail written through the real store with checkpoints.
        Assert.Equal(0, (await RunAsync("audit", "public-key", "--hex")).ExitCode);
        using var key = AuditSigningKey.Load(Path.Combine(DataDir, AuditSigningKey.FileName));
        using var store = await SqliteStore.OpenAsync(DataDir);
        var t = AuditSamples.T0;
        await store.AppendAsync(
        [
            AuditSamples.Request("req-a1", t, user: "ada", session: "s-1"),
            AuditSamples.Request("req-b1", t.AddMinutes(1), user: "bob", session: "s-2") with { Model = "claude-haiku-4-5", Team = "data" },
            AuditSamples.ToolEvent("evt-a1", t.AddMinutes(2), "evt-0000001"),
            AuditSamples.Request("req-a2", t.AddMinutes(3), user: "ada", session: "s-1") with { Outcome = AuditOutcome.Blocked, Status = 400, ErrorType = "blocked:aws-access-key",
                Findings = [new AuditFinding("aws-access-key", "secret", "messages[0].content", "block", new string('1', 64))] },
        ]);
        await CheckpointAsync(store, key);
        await store.AppendAsync([AuditSamples.Request("req-b2", t.AddMinutes(4), user: "bob", session: "s-2") with { Upstream = "bedrock", Outcome = AuditOutcome.UpstreamError, Status = 529 }]);
        await CheckpointAsync(store, key);
    }

    public Task DisposeAsync()
    {
        SqliteStoreCleanup();
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task List_filters_like_the_store_and_prints_json_or_a_table()
    {
        var all = await JsonAsync("audit", "list", "--json");
        Assert.Equal(["req-b2", "req-a2", "evt-a1", "req-b1", "req-a1"], all.EnumerateArray().Select(r => r.GetProperty("request_id").GetString()));

        Assert.Equal(["req-b2", "req-b1"], Ids(await JsonAsync("audit", "list", "--json", "--user", "bob")));
        Assert.Equal(["req-b1"], Ids(await JsonAsync("audit", "list", "--json", "--team", "data")));
        Assert.Equal(["req-a2", "evt-a1", "req-a1"], Ids(await JsonAsync("audit", "list", "--json", "--session", "s-1")));
        Assert.Equal(["req-b1"], Ids(await JsonAsync("audit", "list", "--json", "--model", "claude-haiku-4-5")));
        Assert.Equal(["req-b2"], Ids(await JsonAsync("audit", "list", "--json", "--upstream", "bedrock")));
        Assert.Equal(["req-a2"], Ids(await JsonAsync("audit", "list", "--json", "--rule", "aws-access-key")));
        Assert.Equal(["req-a2", "evt-a1"], Ids(await JsonAsync("audit", "list", "--json", "--outcome", "blocked")));
        Assert.Equal(["evt-a1"], Ids(await JsonAsync("audit", "list", "--json", "--kind", "tool_event")));
        Assert.Equal(["evt-a1", "req-b1"], Ids(await JsonAsync("audit", "list", "--json", "--since", "2026-03-01T09:01:00Z", "--until", "2026-03-01T09:03:00Z")));
        Assert.Equal(["req-b2", "req-a2"], Ids(await JsonAsync("audit", "list", "--json", "--limit", "2")));
        Assert.Empty(Ids(await JsonAsync("audit", "list", "--json", "--since", "1h")));

        var table = await RunAsync("audit", "list", "--session", "s-1");
        Assert.Equal(0, table.ExitCode);
        var lines = table.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("SEQ", lines[0], StringComparison.Ordinal);
        Assert.Equal(4, lines.Length);
        Assert.Contains("deny (secret file: .env)", table.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--outcome", "great", "--outcome: 'great' is not one of")]
    [InlineData("--kind", "everything", "--kind: 'everything' is not one of")]
    [InlineData("--since", "yesterday-ish", "--since: 'yesterday-ish' is neither a time")]
    public async Task Bad_filters_exit_2_with_a_message_naming_the_option(string option, string value, string message)
    {
        var result = await RunAsync("audit", "list", option, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public async Task Show_prints_one_record_with_its_chain_link_or_exits_1()
    {
        var result = await RunAsync("audit", "show", "req-a2");
        Assert.Equal(0, result.ExitCode);
        using var record = JsonDocument.Parse(result.Output);
        Assert.Equal("blocked", record.RootElement.GetProperty("outcome").GetString());
        Assert.Equal(4, record.RootElement.GetProperty("chain").GetProperty("sequence").GetInt64());
        Assert.Equal("aws-access-key", record.RootElement.GetProperty("findings")[0].GetProperty("rule_id").GetString());

        var missing = await RunAsync("audit", "show", "req-nope");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no audit record with request id 'req-nope'", missing.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("jsonl")]
    [InlineData("csv")]
    public async Task Export_writes_a_file_that_verify_accepts_and_a_tampered_copy_that_it_refuses(string format)
    {
        var path = Path.Combine(_work, "trail." + format);
        var export = await RunAsync("audit", "export", "--format", format, "--output", path);
        Assert.Equal(0, export.ExitCode);
        Assert.Contains("exported 5 record(s) up to seq 5", export.Error, StringComparison.Ordinal);

        var verify = await RunAsync("audit", "verify", "--file", path);
        Assert.Equal(0, verify.ExitCode);
        Assert.StartsWith("intact: 5 record(s), seq 1..5; 2 checkpoint(s) signed by key", verify.Output, StringComparison.Ordinal);

        // Change one user name inside the exported file: the record's hash no longer matches.
        var text = await File.ReadAllTextAsync(path);
        var at = text.IndexOf("bob", StringComparison.Ordinal);
        await File.WriteAllTextAsync(path, string.Concat(text.AsSpan(0, at), "eve", text.AsSpan(at + 3)));
        var tampered = await RunAsync("audit", "verify", "--file", path, "--json");
        Assert.Equal(1, tampered.ExitCode);
        using var result = JsonDocument.Parse(tampered.Output);
        Assert.False(result.RootElement.GetProperty("intact").GetBoolean());
        Assert.Equal(2, result.RootElement.GetProperty("fault").GetProperty("seq").GetInt64());
        Assert.Equal("req-b1", result.RootElement.GetProperty("fault").GetProperty("request_id").GetString());
    }

    [Fact]
    public async Task Filtered_export_to_stdout_keeps_the_checkpoints_and_verifies_as_partial()
    {
        var export = await RunAsync("audit", "export", "--user", "ada");
        Assert.Equal(0, export.ExitCode);
        var lines = export.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using (var header = JsonDocument.Parse(lines[0]))
        {
            Assert.True(header.RootElement.GetProperty("header").GetProperty("filtered").GetBoolean());
        }
        Assert.Equal(3, lines.Count(l => l.Contains("\"record\":", StringComparison.Ordinal)));
        Assert.Equal(2, lines.Count(l => l.Contains("\"checkpoint\":", StringComparison.Ordinal)));
        var path = Path.Combine(_work, "ada.jsonl");
        await File.WriteAllTextAsync(path, export.Output);
        var verify = await RunAsync("audit", "verify", "--file", path);
        Assert.Equal(0, verify.ExitCode);
        Assert.Contains("3 record(s)", verify.Output, StringComparison.Ordinal);
        Assert.Contains("not in this partial export", verify.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_on_the_live_store_names_the_first_edited_record_and_exits_1()
    {
        var intact = await RunAsync("audit", "verify");
        Assert.Equal(0, intact.ExitCode);
        Assert.StartsWith("intact: 5 record(s), seq 1..5; 2 checkpoint(s) signed by key", intact.Output, StringComparison.Ordinal);

        await ExecuteSqlAsync("UPDATE audit_records SET model = 'claude-opus-5-5' WHERE seq = 3; UPDATE audit_records SET status = 200 WHERE seq = 5");
        var tampered = await RunAsync("audit", "verify");
        Assert.Equal(1, tampered.ExitCode);
        Assert.StartsWith("TAMPERED: first bad record: seq 3", tampered.Output, StringComparison.Ordinal);
        Assert.Contains("evt-a1", tampered.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_with_a_deleted_record_and_with_unreadable_input_or_key()
    {
        await ExecuteSqlAsync("DELETE FROM audit_records WHERE seq = 2");
        var deleted = await RunAsync("audit", "verify", "--json");
        Assert.Equal(1, deleted.ExitCode);
        using (var result = JsonDocument.Parse(deleted.Output))
        {
            Assert.Equal(3, result.RootElement.GetProperty("fault").GetProperty("seq").GetInt64());
        }

        var garbage = Path.Combine(_work, "garbage.jsonl");
        await File.WriteAllTextAsync(garbage, "{\"not\":\"an export\"}\n");
        var unreadable = await RunAsync("audit", "verify", "--file", garbage);
        Assert.Equal(2, unreadable.ExitCode);
        Assert.Contains("garbage.jsonl", unreadable.Error, StringComparison.Ordinal);

        var badKey = Path.Combine(_work, "key.pem");
        await File.WriteAllTextAsync(badKey, "not a key");
        var key = await RunAsync("audit", "verify", "--public-key", badKey);
        Assert.Equal(2, key.ExitCode);
        Assert.Contains("--public-key", key.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Public_key_prints_pem_or_hex_of_the_key_that_signed_the_checkpoints()
    {
        var pem = await RunAsync("audit", "public-key");
        Assert.Equal(0, pem.ExitCode);
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", pem.Output, StringComparison.Ordinal);
        var hex = await RunAsync("audit", "public-key", "--hex");
        var parsed = AuditPublicKey.Parse(pem.Output);
        Assert.Equal(Convert.ToHexStringLower(parsed.Raw), hex.Output.Trim());
        Assert.Contains("key id " + parsed.KeyId, hex.Error, StringComparison.Ordinal);

        // Verify with the printed key as the trusted key, and with someone else's key (signatures then fail).
        var keyFile = Path.Combine(_work, "trusted.pem");
        await File.WriteAllTextAsync(keyFile, pem.Output);
        Assert.Equal(0, (await RunAsync("audit", "verify", "--public-key", keyFile)).ExitCode);
        using var other = AuditSigningKey.LoadOrCreate(Path.Combine(_work, "other-key.pem"));
        await File.WriteAllTextAsync(keyFile, other.PublicKey.ToPem());
        var wrong = await RunAsync("audit", "verify", "--public-key", keyFile);
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("TAMPERED", wrong.Output, StringComparison.Ordinal);
    }

    private static IEnumerable<string?> Ids(JsonElement records) => records.EnumerateArray().Select(r => r.GetProperty("request_id").GetString());

    private static async Task CheckpointAsync(SqliteStore store, AuditSigningKey key)
    {
        var head = await store.GetChainHeadAsync();
        await store.AppendCheckpointAsync(key.Sign(head.Sequence, head.Hash.Span, DateTimeOffset.UtcNow));
    }

    private async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(DataDir, "airlock.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        Assert.True(await command.ExecuteNonQueryAsync() > 0);
    }

    private static void SqliteStoreCleanup() => Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

    private async Task<JsonElement> JsonAsync(params string[] args)
    {
        var result = await RunAsync(args);
        Assert.True(result.ExitCode == 0, $"airlock {string.Join(' ', args)} exited {result.ExitCode}: {result.Error}");
        using var document = JsonDocument.Parse(result.Output);
        return document.RootElement.Clone();
    }

    private Task<CliResult> RunAsync(params string[] args) => AirlockCli.RunAsync(_work, args);
}

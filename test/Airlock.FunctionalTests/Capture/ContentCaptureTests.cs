using System.Net;
using System.Security.Cryptography;
using System.Text;
using Airlock.Core.Audit;
using Airlock.Core.Audit.Capture;
using Airlock.Core.Configuration;
using Airlock.Gateway.Audit;
using Airlock.Storage.Sqlite;
using Airlock.Testing;

namespace Airlock.FunctionalTests.Capture;

/// <summary>
/// Content capture through a real gateway: what each mode keeps, that it is only ever stored encrypted (the data
/// directory never holds the plaintext), that it opens with the master key, and that the default keeps nothing.
/// </summary>
public sealed class ContentCaptureTests(ITestOutputHelper output)
{
    private const string MasterKeyVariable = "AIRLOCK_TEST_CAPTURE_KEY";
    private readonly string _masterKey = MasterKeySource.NewKeyText();

    private static string FakeAwsKeyId() => "AKIA" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);

    private Task<GatewayHarness> StartAsync(Func<CaptureConfig, CaptureConfig> capture) => GatewayHarness.StartAsync(output,
        configure: config => config with
        {
            Audit = config.Audit with { Capture = capture(new CaptureConfig { MasterKeyEnv = MasterKeyVariable }) },
        },
        environment: name => name == MasterKeyVariable ? _masterKey : null);

    private static string Body(string secret, string marker) =>
        $$"""{"model":"claude-opus-5-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"{{marker}} deploy with {{secret}}"}]}]}""";

    private async Task<CapturedContent?> OpenCapturedAsync(GatewayHarness harness, string requestId)
    {
        await harness.Gateway.Capture.Writer!.FlushAsync();
        using var store = await SqliteStore.OpenAsync(harness.DataDir);
        if (await store.FindContentAsync(requestId) is not { } sealedContent)
        {
            return null;
        }
        using var wrapper = CaptureKeys.FromConfig(new CaptureConfig { MasterKeyEnv = MasterKeyVariable }, name => name == MasterKeyVariable ? _masterKey : null)!;
        using var ring = new DataKeyRing(store, wrapper, TimeProvider.System);
        return ContentSealer.Open((await ring.GetOpeningKeyAsync(sealedContent.Period))!, sealedContent);
    }

    private static async Task<string> StreamedTextAsync(HttpResponseMessage response)
    {
        var text = new StringBuilder();
        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal) && line.Contains("\"text_delta\"", StringComparison.Ordinal))
            {
                using var json = System.Text.Json.JsonDocument.Parse(line[6..]);
                text.Append(json.RootElement.GetProperty("delta").GetProperty("text").GetString());
            }
        }
        return text.ToString();
    }

    [Fact]
    public async Task Redacted_mode_keeps_the_forwarded_request_and_the_answer_encrypted_only()
    {
        await using var harness = await StartAsync(c => c with { Teams = new Dictionary<string, CaptureMode> { [GatewayHarness.DeveloperTeam] = CaptureMode.Redacted } });
        var secret = FakeAwsKeyId();
        var marker = "capture-marker-" + Guid.NewGuid().ToString("N");

        using var response = await harness.Client.SendAsync(harness.Messages(Body(secret, marker)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await StreamedTextAsync(response);
        var record = await harness.SingleAuditAsync();
        var captured = await OpenCapturedAsync(harness, record.RequestId);

        Assert.NotNull(captured);
        Assert.Equal("redacted", captured.Mode);
        Assert.Contains(marker, captured.Request, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, captured.Request, StringComparison.Ordinal);
        Assert.Contains("[REDACTED:aws-access-key-id:", captured.Request, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(answer));
        Assert.Equal(answer, captured.Response);
        // Stored apart from the chain, and only as ciphertext: neither the prompt text nor the answer is on disk.
        await harness.AssertNotStoredAsync(marker);
        await harness.AssertNotStoredAsync(secret);
    }

    [Fact]
    public async Task Full_mode_keeps_the_request_as_received_still_encrypted()
    {
        await using var harness = await StartAsync(c => c with { Default = CaptureMode.Full });
        var secret = FakeAwsKeyId();
        var marker = "full-marker-" + Guid.NewGuid().ToString("N");

        using var response = await harness.Client.SendAsync(harness.Messages(Body(secret, marker)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();
        var record = await harness.SingleAuditAsync();
        var captured = await OpenCapturedAsync(harness, record.RequestId);

        Assert.NotNull(captured);
        Assert.Equal("full", captured.Mode);
        Assert.Contains(secret, captured.Request, StringComparison.Ordinal);
        Assert.Single(harness.Upstream.MessagesRequests);
        Assert.DoesNotContain(secret, harness.Upstream.MessagesRequests[0].BodyText, StringComparison.Ordinal);
        await harness.AssertNotStoredAsync(secret);
        await harness.AssertNotStoredAsync(marker);
    }

    [Fact]
    public async Task A_team_set_to_none_keeps_no_content_and_a_key_override_wins_over_its_team()
    {
        await using var harness = await StartAsync(c => c with
        {
            Default = CaptureMode.Full,
            Teams = new Dictionary<string, CaptureMode> { [GatewayHarness.DeveloperTeam] = CaptureMode.None },
            Keys = new Dictionary<string, CaptureMode> { ["key-with-override"] = CaptureMode.Redacted },
        });

        using var response = await harness.Client.SendAsync(harness.Messages(Body(FakeAwsKeyId(), "none-marker")));
        await response.Content.ReadAsStringAsync();
        var record = await harness.SingleAuditAsync();
        var capture = harness.Gateway.Config.Audit.Capture;

        Assert.Null(await OpenCapturedAsync(harness, record.RequestId));
        Assert.Equal(CaptureMode.Redacted, capture.ModeFor(GatewayHarness.DeveloperTeam, "key-with-override"));
        Assert.Equal(CaptureMode.None, capture.ModeFor(GatewayHarness.DeveloperTeam, harness.DeveloperKeyRecord.Id));
        Assert.Equal(CaptureMode.Full, capture.ModeFor("other-team", null));
    }

    [Fact]
    public async Task Capture_without_a_readable_master_key_refuses_to_start_naming_the_variable_not_a_key()
    {
        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => GatewayHarness.StartAsync(output,
            configure: config => config with
            {
                Audit = config.Audit with { Capture = new CaptureConfig { MasterKeyEnv = "AIRLOCK_TEST_UNSET_KEY", Default = CaptureMode.Redacted } },
            }));

        Assert.Contains("AIRLOCK_TEST_UNSET_KEY", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submitting_never_waits_for_sealing_or_the_store()
    {
        // Sealing and storing run on the writer's loop: with the store stalled, every submit must still return and the
        // request path must hold nothing up. Gated rather than timed, so machine load cannot make it pass or fail.
        using var temp = new TempDataDirectory("airlock-capture-gate-");
        var dataDir = temp.Path;
        using var sqlite = await SqliteStore.OpenAsync(dataDir);
        var gated = new GatedContentStore(sqlite);
        var config = new AirlockConfig
        {
            Level = 1,
            DataDir = dataDir,
            Upstreams = [],
            Routes = [],
            Audit = new AuditConfig { Capture = new CaptureConfig { MasterKeyEnv = MasterKeyVariable, Default = CaptureMode.Redacted } },
        };
        await using var capture = GatewayContentCapture.Create(config, gated, name => name == MasterKeyVariable ? _masterKey : null,
            TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var body = Encoding.UTF8.GetBytes(Body("none", new string('x', 40_000)));
        var record = new Core.Audit.AuditRecord
        {
            RequestId = "gated",
            Time = DateTimeOffset.UtcNow,
            Door = "messages",
            Operation = "messages",
            Outcome = Core.Audit.AuditOutcome.Ok,
        };
        const int Submitted = 500;

        var submitting = Task.Run(() =>
        {
            for (var i = 0; i < Submitted; i++)
            {
                var exchange = capture.Begin("platform", null)!;
                exchange.OnRequest(body, body);
                capture.Submit(record with { RequestId = "gated-" + i }, exchange);
            }
        });
        await submitting.WaitAsync(TimeSpan.FromSeconds(30));
        await gated.Reached.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, capture.Writer!.Stored);
        Assert.Equal(0, capture.Writer.Dropped);
        Assert.Null(await sqlite.FindContentAsync("gated-0"));

        gated.Open.SetResult();
        await capture.Writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(Submitted, capture.Writer.Stored);
        Assert.Equal(0, capture.Writer.Dropped);
        Assert.NotNull(await sqlite.FindContentAsync("gated-" + (Submitted - 1)));
    }

    /// <summary>A real SQLite store whose content appends (and data-key lookups) wait until <see cref="Open"/> is set.</summary>
    private sealed class GatedContentStore(SqliteStore inner) : IAuditStore, IAuditContentStore
    {
        public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private async Task PassAsync(CancellationToken cancellationToken)
        {
            Reached.TrySetResult();
            await Open.Task.WaitAsync(cancellationToken);
        }

        public async Task AppendContentAsync(IReadOnlyList<SealedContent> items, CancellationToken cancellationToken = default)
        {
            await PassAsync(cancellationToken);
            await inner.AppendContentAsync(items, cancellationToken);
        }

        public async Task<WrappedDataKey?> FindDataKeyAsync(string period, CancellationToken cancellationToken = default)
        {
            await PassAsync(cancellationToken);
            return await inner.FindDataKeyAsync(period, cancellationToken);
        }

        public Task<WrappedDataKey> AddDataKeyAsync(WrappedDataKey key, CancellationToken cancellationToken = default) => inner.AddDataKeyAsync(key, cancellationToken);

        public IAsyncEnumerable<SealedContent> ReadContentOfUserAsync(string user, CancellationToken cancellationToken = default) => inner.ReadContentOfUserAsync(user, cancellationToken);

        public Task<SealedContent?> FindContentAsync(string requestId, CancellationToken cancellationToken = default) => inner.FindContentAsync(requestId, cancellationToken);

        public IAsyncEnumerable<ContentIndexEntry> ReadContentIndexAsync(DateTimeOffset olderThan, CancellationToken cancellationToken = default) => inner.ReadContentIndexAsync(olderThan, cancellationToken);

        public Task<long> DeleteContentAsync(IReadOnlyList<string> requestIds, CancellationToken cancellationToken = default) => inner.DeleteContentAsync(requestIds, cancellationToken);

        public Task<long> DeleteContentOfUserAsync(string user, CancellationToken cancellationToken = default) => inner.DeleteContentOfUserAsync(user, cancellationToken);

        public Task<IReadOnlyList<string>> DeleteDataKeysBeforeAsync(string period, CancellationToken cancellationToken = default) => inner.DeleteDataKeysBeforeAsync(period, cancellationToken);

        public Task AppendAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken = default) => inner.AppendAsync(records, cancellationToken);

        public IAsyncEnumerable<AuditRecord> ReadAsync(AuditQuery query, CancellationToken cancellationToken = default) => inner.ReadAsync(query, cancellationToken);

        public Task<AuditChainHead> GetChainHeadAsync(CancellationToken cancellationToken = default) => inner.GetChainHeadAsync(cancellationToken);

        public Task AppendCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default) => inner.AppendCheckpointAsync(checkpoint, cancellationToken);

        public IAsyncEnumerable<AuditCheckpoint> ReadCheckpointsAsync(long toSequence = long.MaxValue, CancellationToken cancellationToken = default) => inner.ReadCheckpointsAsync(toSequence, cancellationToken);
    }
}

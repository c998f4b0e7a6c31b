using System.Net.Http.Headers;
using System.Text;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Core.Identity;
using Airlock.Gateway.Hosting;
using Microsoft.Extensions.Logging;

using Xunit;
using Xunit.Abstractions;

namespace Airlock.Testing;

/// <summary>
/// One real Airlock gateway on Kestrel (<c>127.0.0.1:0</c>, temp data dir) in front of one
/// <see cref="ScriptedUpstream"/>, plus a developer key issued against the gateway's own store and an
/// <see cref="HttpClient"/> pointed at the gateway. Everything is torn down and deleted on dispose.
/// </summary>
public sealed class GatewayHarness : IAsyncDisposable
{
    /// <summary>The environment variable the test config names for the gateway's upstream credential.</summary>
    public const string UpstreamKeyVariable = "AIRLOCK_TEST_UPSTREAM_KEY";

    public const string DeveloperUser = "ada";
    public const string DeveloperTeam = "platform";

    private GatewayHarness(string dataDir, ScriptedUpstream upstream, AirlockGateway gateway, HttpClient client, string key, KeyRecord record)
    {
        DataDir = dataDir;
        Upstream = upstream;
        Gateway = gateway;
        Client = client;
        DeveloperKey = key;
        DeveloperKeyRecord = record;
    }

    public string DataDir { get; }

    public ScriptedUpstream Upstream { get; }

    public AirlockGateway Gateway { get; }

    /// <summary>Pointed at the gateway; sends nothing by default (each test chooses its auth headers).</summary>
    public HttpClient Client { get; }

    public Uri GatewayUri => Client.BaseAddress!;

    /// <summary>The gateway address without a trailing slash, as <c>ANTHROPIC_BASE_URL</c> takes it.</summary>
    public string BaseUrl => GatewayUri.ToString().TrimEnd('/');

    /// <summary>A developer key (user <see cref="DeveloperUser"/>, team <see cref="DeveloperTeam"/>).</summary>
    public string DeveloperKey { get; }

    public KeyRecord DeveloperKeyRecord { get; }

    /// <summary>
    /// Starts the scripted upstream and a gateway whose default configuration routes every model to it.
    /// <paramref name="configure"/> may change anything (limits, timeouts, routes, the upstream URL);
    /// <paramref name="upstreamCredential"/> replaces the credential the gateway presents upstream.
    /// </summary>
    public static async Task<GatewayHarness> StartAsync(
        ITestOutputHelper? output = null,
        Func<AirlockConfig, AirlockConfig>? configure = null,
        ScriptedUpstreamOptions? upstreamOptions = null,
        string? upstreamCredential = null,
        UpstreamKind upstreamKind = UpstreamKind.Anthropic,
        Func<string, string?>? environment = null,
        Func<IAuditStore, IAuditStore>? wrapAuditStore = null,
        Airlock.Core.Egress.IHostResolver? hostResolver = null,
        Action<Microsoft.Win32.SafeHandles.SafeFileHandle>? journalFlushToDisk = null,
        Airlock.Gateway.Audit.JournalWriteHook? journalBeforeWrite = null,
        Random? retryJitter = null)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "airlock-ft-" + Guid.NewGuid().ToString("N"));
        var upstream = await ScriptedUpstream.StartAsync(upstreamOptions);
        AirlockGateway? gateway = null;
        try
        {
            var config = new AirlockConfig
            {
                Level = 1,
                DataDir = dataDir,
                Upstreams = [UpstreamFor(upstream, upstreamKind, "main", dataDir)],
                Routes = [new RouteConfig { Models = ["*"], Upstream = "main" }],
                Source = "functional test",
            };
            config = configure?.Invoke(config) ?? config;
            gateway = await AirlockGateway.StartAsync(config, new GatewayStartOptions
            {
                Urls = "http://127.0.0.1:0",
                WrapAuditStore = wrapAuditStore,
                JournalFlushToDisk = journalFlushToDisk,
                JournalBeforeWrite = journalBeforeWrite,
                RetryJitter = retryJitter,
                HostResolver = hostResolver ?? Airlock.Core.Egress.DnsHostResolver.Instance,
                GetEnvironment = name => environment?.Invoke(name) ?? name switch
                {
                    UpstreamKeyVariable => upstreamCredential ?? upstream.ApiKey,
                    // The gateway's AWS credentials, which the scripted Bedrock verifies signatures with.
                    "AWS_ACCESS_KEY_ID" => BedrockSigV4Verifier.TestCredentials.AccessKeyId,
                    "AWS_SECRET_ACCESS_KEY" => BedrockSigV4Verifier.TestCredentials.SecretAccessKey,
                    _ => null,
                },
                LogLevel = LogLevel.Information,
                ConfigureLogging = logging =>
                {
                    logging.ClearProviders();
                    if (output is not null)
                    {
                        logging.AddProvider(new XunitLoggerProvider(output));
                    }
                },
            });
            var (key, record) = await new KeyIssuer(gateway.Store, TimeProvider.System)
                .IssueAsync(DeveloperUser, DeveloperTeam, KeyRole.Developer, expiresIn: TimeSpan.FromDays(1));
            var client = NewClient(gateway.Addresses[0]);
            return new GatewayHarness(dataDir, upstream, gateway, client, key, record);
        }
        catch
        {
            if (gateway is not null)
            {
                await gateway.DisposeAsync();
            }
            await upstream.DisposeAsync();
            DeleteDirectory(dataDir);
            throw;
        }
    }

    /// <summary>Vertex region and project the scripted Vertex upstream is configured with.</summary>
    public const string VertexRegion = "us-east5";

    /// <summary>
    /// An upstream of <paramref name="kind"/> served by the scripted upstream: Messages kinds with the test key;
    /// Vertex with a real service-account file (written into <paramref name="directory"/>) whose token endpoint is
    /// the scripted one, so OAuth is exercised end to end.
    /// </summary>
    public static UpstreamConfig UpstreamFor(ScriptedUpstream upstream, UpstreamKind kind, string name, string directory)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        return kind switch
        {
            UpstreamKind.Bedrock => new UpstreamConfig
            {
                Name = name,
                Kind = UpstreamKind.Bedrock,
                Url = upstream.BaseUri,
                Region = ScriptedUpstream.BedrockRegion,
            },
            UpstreamKind.Vertex => new UpstreamConfig
            {
                Name = name,
                Kind = UpstreamKind.Vertex,
                Url = upstream.BaseUri,
                Region = VertexRegion,
                Project = upstream.GoogleAuth.ProjectId,
                CredentialsFile = upstream.GoogleAuth.WriteServiceAccountFile(directory, upstream.BaseUri),
            },
            _ => new UpstreamConfig
            {
                Name = name,
                Kind = kind,
                Url = upstream.BaseUri,
                ApiKeyEnv = UpstreamKeyVariable,
            },
        };
    }

    public static HttpClient NewClient(Uri baseAddress) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        MaxConnectionsPerServer = 256,
    })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromSeconds(60),
    };

    /// <summary>Issues another key against the gateway's store.</summary>
    public Task<(string Key, KeyRecord Record)> IssueKeyAsync(string user, KeyRole role = KeyRole.Developer, TimeSpan? expiresIn = null, TimeProvider? time = null) =>
        new KeyIssuer(Gateway.Store, time ?? TimeProvider.System).IssueAsync(user, "other-team", role, expiresIn);

    /// <summary>A <c>POST /v1/messages?beta=true</c> with the headers Claude Code sends and the developer key as x-api-key.</summary>
    public HttpRequestMessage Messages(byte[] body, string? sessionId = null, string path = "/v1/messages?beta=true") =>
        Post(path, body, DeveloperKey, sessionId);

    public HttpRequestMessage Messages(string body, string? sessionId = null) => Messages(Encoding.UTF8.GetBytes(body), sessionId);

    public static HttpRequestMessage Post(string path, byte[] body, string? apiKey, string? sessionId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        AddClaudeCodeHeaders(request, sessionId);
        if (apiKey is not null)
        {
            request.Headers.TryAddWithoutValidation("x-api-key", apiKey);
        }
        return request;
    }

    public static void AddClaudeCodeHeaders(HttpRequestMessage request, string? sessionId = null)
    {
        request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        request.Headers.TryAddWithoutValidation("anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14");
        request.Headers.TryAddWithoutValidation("User-Agent", "claude-cli/2.1.330 (external, sdk-cli)");
        request.Headers.TryAddWithoutValidation("x-app", "cli");
        if (sessionId is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Claude-Code-Session-Id", sessionId);
        }
    }

    /// <summary>Sends and returns as soon as the headers arrived (the body is read by the caller, as it streams).</summary>
    public Task<HttpResponseMessage> SendStreamingAsync(HttpRequestMessage request, CancellationToken cancellationToken = default) =>
        Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);

    /// <summary>
    /// Waits until the trail holds at least <paramref name="count"/> records and returns them oldest first.
    /// A record is written when the gateway's handler ends, which can be a moment after the client saw the
    /// last byte (client aborts, Content-Length responses), hence the wait.
    /// </summary>
    public async Task<IReadOnlyList<AuditRecord>> AuditAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            await Gateway.Audit.FlushAsync();
            var records = await Gateway.Store.QueryAsync(new AuditQuery { Limit = 10_000 });
            if (records.Count >= count || DateTime.UtcNow > deadline)
            {
                return records.Reverse().ToList();
            }
            await Task.Delay(20);
        }
    }

    /// <summary>The records of one Claude Code session, oldest first (after flushing the writer).</summary>
    public async Task<IReadOnlyList<AuditRecord>> SessionAuditAsync(string? sessionId)
    {
        await Gateway.Audit.FlushAsync();
        var records = await Gateway.Store.QueryAsync(new AuditQuery { SessionId = sessionId, Limit = 10_000 });
        return records.Reverse().ToList();
    }

    /// <summary>The only audit record of a test that made exactly one request.</summary>
    public async Task<AuditRecord> SingleAuditAsync()
    {
        var records = await AuditAsync(1);
        // Give a duplicate write a chance to show up before asserting there is exactly one.
        await Task.Delay(50);
        records = await AuditAsync(1);
        return Assert.Single(records);
    }

    /// <summary>
    /// Asserts that no byte sequence of <paramref name="marker"/> appears in any file of the data dir
    /// (database, WAL, anything else): request content never reaches storage.
    /// </summary>
    public async Task AssertNotStoredAsync(string marker)
    {
        await Gateway.Audit.FlushAsync();
        var needle = Encoding.UTF8.GetBytes(marker);
        foreach (var file in Directory.EnumerateFiles(DataDir, "*", SearchOption.AllDirectories))
        {
            if (Path.GetFileName(file) == Airlock.Gateway.Audit.AuditJournal.LockFileName)
            {
                // The running gateway holds its audit journal's lock file exclusively (no other open succeeds); it is empty.
                Assert.Equal(0, new FileInfo(file).Length);
                continue;
            }
            byte[] bytes;
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var copy = new MemoryStream())
            {
                await stream.CopyToAsync(copy);
                bytes = copy.ToArray();
            }
            Assert.True(bytes.AsSpan().IndexOf(needle) < 0, $"request content found in {Path.GetFileName(file)}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        DeleteDirectory(DataDir);
    }

    private static void DeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
            // A pooled SQLite handle may still be closing; the OS temp cleaner gets it.
        }
    }
}

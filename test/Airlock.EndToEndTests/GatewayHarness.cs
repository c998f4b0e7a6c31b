using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Core.Identity;
using Airlock.Gateway.Hosting;
using Airlock.Testing;

namespace Airlock.EndToEndTests;

/// <summary>
/// A real Airlock gateway (Kestrel on 127.0.0.1:0, temporary data directory) in front of a
/// <see cref="ScriptedUpstream"/>, with one developer key issued.
/// </summary>
internal sealed class GatewayHarness : IAsyncDisposable
{
    private const string UpstreamKeyVariable = "E2E_UPSTREAM_KEY";
    private readonly string _dataDir;

    private GatewayHarness(ScriptedUpstream upstream, AirlockGateway gateway, string dataDir, string developerKey)
    {
        Upstream = upstream;
        Gateway = gateway;
        _dataDir = dataDir;
        DeveloperKey = developerKey;
    }

    public ScriptedUpstream Upstream { get; }

    public AirlockGateway Gateway { get; }

    public string DeveloperKey { get; }

    public string BaseUrl => Gateway.Addresses[0].ToString().TrimEnd('/');

    public static async Task<GatewayHarness> StartAsync(string user = "alice", string team = "payments")
    {
        var upstream = await ScriptedUpstream.StartAsync();
        var dataDir = Directory.CreateTempSubdirectory("airlock-e2e-data-").FullName;
        var config = new AirlockConfig
        {
            Level = 1,
            DataDir = dataDir,
            Upstreams = [new UpstreamConfig { Name = "scripted", Kind = UpstreamKind.Anthropic, Url = upstream.BaseUri, ApiKeyEnv = UpstreamKeyVariable }],
            Routes = [new RouteConfig { Models = ["*"], Upstream = "scripted" }],
            Source = "end-to-end test",
        };
        var gateway = await AirlockGateway.StartAsync(config, new GatewayStartOptions
        {
            Urls = "http://127.0.0.1:0",
            GetEnvironment = name => name == UpstreamKeyVariable ? upstream.ApiKey : null,
        });
        var (key, _) = await new KeyIssuer(gateway.Store, TimeProvider.System).IssueAsync(user, team, KeyRole.Developer, TimeSpan.FromDays(1));
        return new GatewayHarness(upstream, gateway, dataDir, key);
    }

    public async Task<IReadOnlyList<AuditRecord>> AuditAsync(string? sessionId = null)
    {
        await Gateway.Audit.FlushAsync();
        var records = await Gateway.Store.QueryAsync(new AuditQuery { SessionId = sessionId, Limit = 1000 });
        return records.Reverse().ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

using System.Net;
using Airlock.Core.Configuration;
using Airlock.Core.Egress;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// One upstream's connection pool and credential. The handler follows YARP's forwarder settings:
/// no proxy, no redirects (a redirect could lead a request off the allowed network), no automatic
/// decompression (bytes are relayed as they come), no cookies.
/// </summary>
public sealed class UpstreamClient : IDisposable
{
    private readonly string _baseUrl;

    internal UpstreamClient(UpstreamConfig config, HttpMessageHandler handler, string? credential, TimeProvider? time = null)
    {
        Config = config;
        Breaker = new CircuitBreaker(config.Name, config.CircuitBreaker, time ?? TimeProvider.System);
        Invoker = new HttpMessageInvoker(handler, disposeHandler: true);
        Credential = credential;
        _baseUrl = config.Url is null ? "http://simulated.airlock.invalid" : config.Url.GetLeftPart(UriPartial.Path).TrimEnd('/');
    }

    /// <summary>The upstream's configuration.</summary>
    public UpstreamConfig Config { get; }

    /// <summary>Regions this upstream may serve in (its own list, else the deployment's); empty: any.</summary>
    public IReadOnlyList<string> AllowedRegions { get; init; } = [];

    /// <summary>This upstream's circuit breaker (failover skips it while open).</summary>
    public CircuitBreaker Breaker { get; }

    /// <summary>Sends requests; never buffers responses.</summary>
    public HttpMessageInvoker Invoker { get; }

    /// <summary>The gateway's own credential for this upstream (from the environment), or null.</summary>
    internal string? Credential { get; }

    /// <summary>Absolute upstream URI for a gateway path and query (<c>/v1/messages</c>, <c>?beta=true</c>).</summary>
    public Uri BuildUri(string path, string? query) => new(_baseUrl + path + query, UriKind.Absolute);

    /// <summary>Adds the gateway's credential in the header the upstream kind expects.</summary>
    public void ApplyCredential(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Credential is null)
        {
            return;
        }
        if (Config.Kind == UpstreamKind.Messages)
        {
            // vLLM, llama.cpp and Ollama check a bearer token; the Anthropic API checks x-api-key.
            request.Headers.TryAddWithoutValidation("authorization", "Bearer " + Credential);
        }
        else
        {
            request.Headers.TryAddWithoutValidation("x-api-key", Credential);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => Invoker.Dispose();

    /// <summary>
    /// The handler for a real upstream. Every connection goes through <paramref name="guard"/> (the level's address
    /// rule at connect time). Environment proxies are never used; a proxy declared in <c>egress.proxy</c> is, and the
    /// guard then checks the proxy's address.
    /// </summary>
    internal static SocketsHttpHandler CreateHandler(UpstreamConfig config, EgressConnectGuard guard, Uri? proxy) => new()
    {
        UseProxy = proxy is not null,
        Proxy = proxy is null ? null : new WebProxy(proxy, BypassOnLocal: false),
        ConnectCallback = guard.ConnectAsync,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = config.ConnectTimeout,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
        PooledConnectionLifetime = TimeSpan.FromMinutes(10),
        EnableMultipleHttp2Connections = true,
        MaxResponseHeadersLength = 64,
        // An answer abandoned half-read (the client left) must end the upstream call at once: draining it to
        // reuse the connection keeps the model generating, and billing, for nobody.
        ResponseDrainTimeout = TimeSpan.Zero,
        ActivityHeadersPropagator = null,
    };
}

/// <summary>All upstream clients, built once at startup from the configuration.</summary>
public sealed class UpstreamRegistry : IDisposable
{
    private readonly Dictionary<string, UpstreamClient> _clients = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UpstreamAdapter> _adapters = new(StringComparer.Ordinal);

    /// <summary>
    /// Builds a client per upstream. Reads each credential from the environment now, so a missing
    /// credential stops startup with its name rather than failing the first request.
    /// </summary>
    /// <exception cref="ConfigurationException">A credential variable is named but not set.</exception>
    /// <remarks>
    /// Cloud credential providers (AWS chain, Google OAuth) are built only for Bedrock and Vertex upstreams, and never
    /// at level 3: a level-3 configuration naming one is refused here too, before any credential code runs, even when
    /// the configuration did not come through <see cref="ConfigLoader"/>.
    /// </remarks>
    public UpstreamRegistry(AirlockConfig config, Func<string, string?> getEnvironment, IHostResolver? resolver = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(getEnvironment);
        var errors = new List<string>();
        var betas = new BetaPolicy(config.Betas);
        if (config.Level >= 3 && config.Upstreams.Where(u => UpstreamEndpoints.HasCloudCredentials(u.Kind)).Select(u => u.Name).ToList() is { Count: > 0 } cloud)
        {
            throw new ConfigurationException(config.Source, [$"level 3: upstreams {string.Join(", ", cloud)} need cloud credentials; no cloud credential provider is initialised at level 3"]);
        }
        for (var i = 0; i < config.Upstreams.Count; i++)
        {
            var upstream = config.Upstreams[i];
            string? credential = null;
            if (upstream.ApiKeyEnv is { } variable)
            {
                credential = getEnvironment(variable);
                if (string.IsNullOrEmpty(credential))
                {
                    errors.Add($"upstreams[{i}].api_key_env: environment variable {variable} is not set");
                    continue;
                }
            }
            HttpMessageHandler handler = upstream.Kind == UpstreamKind.Simulated
                ? new SimulatedModelHandler()
                : UpstreamClient.CreateHandler(upstream, new EgressConnectGuard(config, upstream, resolver ?? DnsHostResolver.Instance), config.Egress.Proxy);
            var client = new UpstreamClient(upstream, handler, credential, time) { AllowedRegions = EgressEvaluator.EffectiveAllowedRegions(config, upstream) };
            _clients[upstream.Name] = client;
            _adapters[upstream.Name] = CreateAdapter(config, client, getEnvironment, betas, resolver ?? DnsHostResolver.Instance);
        }
        if (errors.Count > 0)
        {
            Dispose();
            throw new ConfigurationException(config.Source, errors);
        }
    }

    /// <summary>Every upstream's health (circuit state, recent failures), in configuration order.</summary>
    public IReadOnlyList<UpstreamHealth> Health() =>
        _clients.Values.Select(c => c.Breaker.Snapshot(c.Config.Kind.ToString().ToLowerInvariant())).ToList();

    /// <summary>Every upstream client.</summary>
    public IEnumerable<UpstreamClient> Clients => _clients.Values;

    /// <summary>The client for a configured upstream.</summary>
    public UpstreamClient Get(string name) => _clients[name];

    /// <summary>The adapter (request building, answer translation) for a configured upstream.</summary>
    internal UpstreamAdapter Adapter(string name) => _adapters[name];

    private static UpstreamAdapter CreateAdapter(AirlockConfig config, UpstreamClient client, Func<string, string?> getEnvironment, BetaPolicy betas, IHostResolver resolver) => client.Config.Kind switch
    {
        UpstreamKind.Vertex => new VertexUpstreamAdapter(client, new GoogleAccessTokens(config, client.Config, getEnvironment, resolver)) { Betas = betas },
        UpstreamKind.Bedrock => new BedrockUpstreamAdapter(client, getEnvironment, TimeProvider.System, config, resolver) { Betas = betas },
        UpstreamKind.OpenAi => new OpenAiUpstreamAdapter(client) { Betas = betas },
        _ => new MessagesUpstreamAdapter(client) { Betas = betas },
    };

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }
        _clients.Clear();
    }
}

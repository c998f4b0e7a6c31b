using Airlock.Core.Configuration;
using Airlock.Core.Egress;
using Airlock.Core.Identity;
using Airlock.Core.Routing;
using Airlock.Gateway.Audit;
using Airlock.Gateway.Inspection;
using Airlock.Gateway.Doors;
using Airlock.Gateway.Pipeline;
using Airlock.Gateway.Siem;
using Airlock.Gateway.Upstreams;
using Airlock.Storage.Sqlite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Airlock.Gateway.Hosting;

/// <summary>How to start a gateway beyond what the configuration says (tests and the CLI set these).</summary>
public sealed record GatewayStartOptions
{
    /// <summary>Listen URLs; overrides <see cref="AirlockConfig.Urls"/>. <c>http://127.0.0.1:0</c> picks a free port.</summary>
    public string? Urls { get; init; }

    /// <summary>Reads environment variables (upstream credentials). Defaults to the process environment.</summary>
    public Func<string, string?> GetEnvironment { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>Clock; tests substitute a fake one.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Minimum log level for the console.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>Resolves upstream host names for the egress checks at startup and at every connection (tests stub it).</summary>
    public IHostResolver HostResolver { get; init; } = DnsHostResolver.Instance;

    /// <summary>Extra logging setup (tests route logs to their output).</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    /// <summary>Wraps the audit store the writer uses (tests inject store failures such as a full disk).</summary>
    public Func<Core.Audit.IAuditStore, Core.Audit.IAuditStore>? WrapAuditStore { get; init; }

    /// <summary>Tests: how the audit journal syncs a segment (to hold the fsync); default <c>fdatasync</c>.</summary>
    public Action<Microsoft.Win32.SafeHandles.SafeFileHandle>? JournalFlushToDisk { get; init; }

    /// <summary>Tests: sees every audit journal write before it is made (to hold it, or fail it with an <see cref="IOException"/>).</summary>
    public JournalWriteHook? JournalBeforeWrite { get; init; }

    /// <summary>Tests: the random source of the retry backoff's jitter (default <see cref="Random.Shared"/>).</summary>
    public Random? RetryJitter { get; init; }
}

/// <summary>
/// A running Airlock gateway: Kestrel, the front doors, upstream clients, the store and the audit
/// writer. Library first: the CLI's <c>serve</c> and the tests start it the same way.
/// </summary>
public sealed class AirlockGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly UpstreamRegistry _upstreams;

    private AirlockGateway(WebApplication app, SqliteStore store, AuditWriter audit, UpstreamRegistry upstreams, AirlockConfig config)
    {
        _app = app;
        Store = store;
        Audit = audit;
        _upstreams = upstreams;
        Config = config;
    }

    /// <summary>The configuration the gateway runs with.</summary>
    public AirlockConfig Config { get; }

    /// <summary>The embedded store (keys, audit).</summary>
    public SqliteStore Store { get; }

    /// <summary>Inspection as configured, or null when disabled.</summary>
    public InspectionRuntime? Inspection { get; private init; }

    /// <summary>SIEM delivery, or null when no sink is configured.</summary>
    public SiemDelivery? Siem { get; private init; }

    /// <summary>The audit writer (tests flush it before reading the trail).</summary>
    public AuditWriter Audit { get; }

    /// <summary>Content capture (tests flush its writer before reading captured content).</summary>
    public Audit.GatewayContentCapture Capture => _app.Services.GetRequiredService<Audit.GatewayContentCapture>();

    /// <summary>The addresses Kestrel actually bound (with real ports).</summary>
    public IReadOnlyList<Uri> Addresses =>
        _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();

    /// <summary>Validates everything that can fail, then starts listening.</summary>
    /// <exception cref="ConfigurationException">A problem with the configuration or the environment it names.</exception>
    public static async Task<AirlockGateway> StartAsync(AirlockConfig config, GatewayStartOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        options ??= new GatewayStartOptions();
        await ValidateEgressAsync(config, options.HostResolver, options.GetEnvironment, cancellationToken).ConfigureAwait(false);
        var upstreams = new UpstreamRegistry(config, options.GetEnvironment, options.HostResolver, options.Time);
        SqliteStore store;
        try
        {
            store = await AuditStores.OpenSqliteAsync(config, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            upstreams.Dispose();
            throw;
        }

        InspectionRuntime? inspection;
        try
        {
            inspection = InspectionRuntime.Create(config.Inspection, FindingKey.LoadOrCreate(config.DataDir, options.GetEnvironment));
        }
        catch
        {
            upstreams.Dispose();
            throw;
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "Airlock",
            // No appsettings.json reload: its watcher covers the working directory recursively, and the default data_dir
            // (./.airlock) lies inside it, so every audit commit woke the watcher's thread (inotify events on the
            // database and its WAL). Airlock's configuration is its YAML file, read once.
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.WebHost.UseUrls(options.Urls ?? config.Urls);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // The gateway enforces its own body limit so the client gets an Anthropic-shaped 413.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.MinRequestBodyDataRate = null;
        });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // The CLI prints its own banner with the bound address.
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        options.ConfigureLogging?.Invoke(builder.Logging);

        var services = builder.Services;
        services.AddSingleton(config);
        services.AddSingleton(options.Time);
        services.AddSingleton(store);
        services.AddSingleton<IKeyStore>(store);
        services.AddSingleton(upstreams);
        services.AddSingleton(new ModelRouter(config));
        services.AddSingleton<KeyAuthenticator>();
        var signingKey = AuditStores.LoadOrCreateSigningKey(config.DataDir);
        var auditStore = await AuditStores.OpenForGatewayAsync(config, store, options.GetEnvironment, cancellationToken).ConfigureAwait(false);
        var writerStore = options.WrapAuditStore is { } wrap ? wrap(auditStore.Store) : auditStore.Store;
        var spool = new AuditSpool(Path.Combine(config.DataDir, AuditSpool.FileName), config.Audit.SpoolMaxBytes);
        var journalDirectory = Path.Combine(config.DataDir, AuditJournal.DirectoryName);
        services.AddSingleton(sp => new AuditWriter(writerStore, sp.GetRequiredService<ILogger<AuditWriter>>(), signingKey: signingKey,
            checkpointInterval: config.Audit.CheckpointInterval, ownedStore: auditStore, spool: spool,
            spoolOnFailure: config.Audit.OnStoreFailure == AuditFailureMode.Spool, time: options.Time, shutdownTimeout: config.Audit.ShutdownTimeout,
            journal: config.Audit.Durability == AuditDurability.Journal
                ? AuditJournal.OpenInstance(journalDirectory, sp.GetRequiredService<ILogger<AuditJournal>>(), new AuditJournalOptions
                {
                    Fsync = config.Audit.JournalFsync,
                    FlushToDisk = options.JournalFlushToDisk,
                    BeforeWrite = options.JournalBeforeWrite,
                })
                : null));
        services.AddSingleton(auditStore);
        services.AddSingleton(new GatewayInspection(inspection));
        services.AddSingleton(new OpenedAuditStoreAccessor(auditStore.Store));
        services.AddSingleton(sp => GatewayContentCapture.Create(config, auditStore.Store, options.GetEnvironment, options.Time,
            sp.GetRequiredService<ILogger<GatewayContentCapture>>()));
        services.AddHostedService<AuditPurgeService>();
        services.AddSingleton(options.RetryJitter is { } jitter ? new RetryBackoff(jitter) : RetryBackoff.Shared);
        services.AddSingleton<GatewayPipeline>();
        services.AddSingleton<MessagesDoor>();
        services.AddSingleton<VertexDoor>();
        services.AddSingleton<BedrockDoor>();

        var app = builder.Build();
        // What stopped gateways left in the audit journal goes into the trail before anything is served, and before the
        // writer (resolved with the doors below) opens this gateway's own journal directory. Directories of gateways still
        // running on this data directory (a blue/green restart) are left alone: their lock is held.
        await AuditJournal.RecoverAsync(journalDirectory, writerStore, spool, config.Audit.OnStoreFailure == AuditFailureMode.Spool,
            app.Services.GetRequiredService<ILogger<AuditJournal>>(), cancellationToken: cancellationToken).ConfigureAwait(false);
        // Kestrel resolves dot segments before routing, so a model id of ".." can climb out of a door's prefix
        // (/bedrock/model/../../v1/messages/invoke reaches /v1/messages/invoke). The raw target still names the door:
        // send it there, and the door's parser, which reads the raw target, refuses it in its shape with an audit record.
        app.Use((context, next) =>
        {
            var raw = RawPath.Of(context);
            foreach (var prefix in (ReadOnlySpan<string>)[BedrockDoor.Prefix, "/vertex"])
            {
                if (raw.StartsWith(prefix + "/", StringComparison.Ordinal) && !context.Request.Path.StartsWithSegments(prefix, StringComparison.Ordinal))
                {
                    context.Request.Path = prefix + context.Request.Path;
                }
            }
            return next(context);
        });
        app.UseRouting();
        app.Services.GetRequiredService<MessagesDoor>().Map(app);
        app.Services.GetRequiredService<VertexDoor>().Map(app);
        app.Services.GetRequiredService<BedrockDoor>().Map(app);
        Events.ClaudeCodeEndpoints.MapClaudeCodeEndpoints(app);
        Admin.AdminEndpoints.MapAdminEndpoints(app);
        app.MapGet("/healthz", static context =>
        {
            context.Response.ContentType = "text/plain";
            return context.Response.WriteAsync("ok\n");
        });
        app.MapGet("/health/upstreams", context => UpstreamHealthEndpoint.WriteAsync(context, upstreams, config.Level));
        UpstreamHealthEndpoint.LogCircuitChanges(upstreams, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Airlock.Upstreams"));
        app.MapFallback(static async context =>
        {
            context.Response.StatusCode = 404;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(Protocols.Messages.AnthropicErrors.Body(
                Protocols.Messages.AnthropicErrors.NotFound, $"no such endpoint: {context.Request.Method} {context.Request.Path}")).ConfigureAwait(false);
        });

        var audit = app.Services.GetRequiredService<AuditWriter>();
        try
        {
            // Built before start: a capture master key that cannot be read is a configuration error, not a failed request.
            app.Services.GetRequiredService<GatewayContentCapture>();
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            upstreams.Dispose();
            store.Dispose();
            throw;
        }
        SiemDelivery? siem;
        try
        {
            siem = SiemDelivery.Start(config, audit, options.GetEnvironment, app.Services.GetRequiredService<ILoggerFactory>(), options.Time, options.HostResolver);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            upstreams.Dispose();
            store.Dispose();
            throw;
        }
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return new AirlockGateway(app, store, audit, upstreams, config) { Inspection = inspection, Siem = siem };
    }

    /// <summary>
    /// Refuses to start when the configuration breaks its data-egress level, listing every violation. At levels 2 and 3
    /// host names are resolved now, so a VPC endpoint name that resolves to a public address stops startup; each
    /// connection is checked again when it is opened. Level 0 (the quickstart with a vendor key) declares no level.
    /// </summary>
    private static async Task ValidateEgressAsync(AirlockConfig config, IHostResolver resolver, Func<string, string?> getEnvironment, CancellationToken cancellationToken)
    {
        if (config.Level == 0)
        {
            return;
        }
        var report = config.Level >= 2
            ? await EgressEvaluator.EvaluateAsync(config, resolver, cancellationToken, getEnvironment).ConfigureAwait(false)
            : EgressEvaluator.Evaluate(config, getEnvironment);
        // SIEM sinks and the PostgreSQL audit store are checked by the evaluator too: one list, the same one posture shows.
        var violations = EgressEvaluator.Violations(config, report);
        if (violations.Count > 0)
        {
            throw new ConfigurationException(config.Source, violations);
        }
    }

    /// <summary>Completes when the host is asked to stop (Ctrl+C, SIGTERM).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops accepting requests, finishes in-flight ones, writes every queued audit record.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await Audit.DisposeAsync().ConfigureAwait(false);
        // After the writer: its last committed records are queued (and spilled if undelivered) before the queues stop.
        if (Siem is not null)
        {
            await Siem.DisposeAsync().ConfigureAwait(false);
        }
        _upstreams.Dispose();
        Store.Dispose();
    }
}

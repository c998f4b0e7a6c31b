using System.CommandLine;
using System.Globalization;
using Airlock.Core.Audit;
using Airlock.Core.Audit.Capture;
using Airlock.Gateway.Audit;
using Airlock.Storage.Sqlite;

namespace Airlock.Cli.Commands;

/// <summary><c>airlock subject export|erase --user U</c>: data-subject requests (GDPR articles 15 and 17).</summary>
internal static class SubjectCommand
{
    public static Command Create()
    {
        var subject = new Command("subject", "Data-subject requests: export or erase everything held about one person");
        subject.Subcommands.Add(ExportCommand());
        subject.Subcommands.Add(EraseCommand());
        return subject;
    }

    private static Option<string> UserOption() => new("--user", "-u") { Description = "The person (key owner, as in the audit trail's user field)", Required = true };

    private static Command ExportCommand()
    {
        var user = UserOption();
        var output = new Option<string?>("--out", "-o") { Description = "Write the JSON export to this file (mode 0600) instead of standard output" };
        var command = new Command("export", "Everything held about a person as JSON: keys, audit records, tool events, captured content (decrypted)") { user, output };
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            var config = CommonOptions.Load(parse);
            await using var services = await SubjectServices.OpenAsync(config, cancellationToken);
            var path = parse.GetValue(output);
            await using var stream = path is null ? Console.OpenStandardOutput() : CreatePrivateFile(path);
            var records = await services.Rights.ExportAsync(parse.GetValue(user)!, stream, cancellationToken);
            if (path is not null)
            {
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"exported {records} records to {path}"));
            }
            return 0;
        }));
        return command;
    }

    private static Command EraseCommand()
    {
        var user = UserOption();
        var yes = new Option<bool>("--yes") { Description = "Confirm: erasure cannot be undone" };
        var command = new Command("erase", "Delete a person's captured content, revoke their keys, pseudonymise them in every record (the chain still verifies)")
        {
            user, yes,
        };
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            if (!parse.GetValue(yes))
            {
                await Console.Error.WriteLineAsync("erasure cannot be undone: run again with --yes (export first with 'airlock subject export' if the person asked for a copy)");
                return 2;
            }
            var config = CommonOptions.Load(parse);
            await using var services = await SubjectServices.OpenAsync(config, cancellationToken);
            SubjectErasureReport report;
            try
            {
                report = await services.Rights.EraseAsync(parse.GetValue(user)!, cancellationToken);
            }
            catch (ArgumentException ex)
            {
                await Console.Error.WriteLineAsync("subject erase: " + ex.Message);
                return 2;
            }
            await AuditCheckpoints.SignHeadAsync(services.Audit, cancellationToken);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"erased: {report.Records} records pseudonymised as {report.Pseudonym}, {report.Keys} keys revoked, {report.ContentBlobs} captured contents deleted"));
            if (report.Unerasable > 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"note: {report.Unerasable} records from before audit schema 4 hash the name itself and keep it until retention purges them"));
            }
            return 0;
        }));
        return command;
    }

    private static FileStream CreatePrivateFile(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        return new FileStream(path, options);
    }

    /// <summary>The stores and keys a subject request needs; keys always live in the SQLite store of the data directory.</summary>
    private sealed class SubjectServices : IAsyncDisposable
    {
        private readonly SqliteStore _keys;
        private readonly AesGcmKeyWrapper? _wrapper;
        private readonly DataKeyRing? _ring;

        private SubjectServices(OpenedAuditStore audit, SqliteStore keys, AesGcmKeyWrapper? wrapper, DataKeyRing? ring, SubjectRights rights)
        {
            Audit = audit;
            _keys = keys;
            _wrapper = wrapper;
            _ring = ring;
            Rights = rights;
        }

        public OpenedAuditStore Audit { get; }

        public SubjectRights Rights { get; }

        public static async Task<SubjectServices> OpenAsync(Core.Configuration.AirlockConfig config, CancellationToken cancellationToken)
        {
            var audit = await AuditStores.OpenAsync(config, cancellationToken);
            var keys = await SqliteStore.OpenAsync(config.DataDir, cancellationToken);
            var content = audit.Store as IAuditContentStore;
            AesGcmKeyWrapper? wrapper;
            try
            {
                wrapper = CaptureKeys.FromConfig(config.Audit.Capture, Environment.GetEnvironmentVariable);
            }
            catch (InvalidOperationException ex)
            {
                keys.Dispose();
                await audit.DisposeAsync();
                throw new Core.Configuration.ConfigurationException(config.Source, [ex.Message]);
            }
            var ring = wrapper is null || content is null ? null : new DataKeyRing(content, wrapper, TimeProvider.System);
            var rights = new SubjectRights(audit.Store, (IAuditRetentionStore)audit.Store, content, ring, keys, keys, TimeProvider.System) { Actor = "cli" };
            return new SubjectServices(audit, keys, wrapper, ring, rights);
        }

        public async ValueTask DisposeAsync()
        {
            _ring?.Dispose();
            _wrapper?.Dispose();
            _keys.Dispose();
            await Audit.DisposeAsync();
        }
    }
}

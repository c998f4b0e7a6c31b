using System.Diagnostics;
using System.Text.Json;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Testing;

namespace Airlock.EndToEndTests;

/// <summary>
/// The official AWS JavaScript client (<c>@aws-sdk/client-bedrock-runtime</c>, pinned in <c>test/aws-sdk-client/</c>)
/// against Airlock's Bedrock pieces: its SigV4 signatures must pass the scripted Bedrock's verifier, and its
/// event-stream unmarshaller must decode the frames Airlock's encoder writes (chunks and exception frames) without error.
/// </summary>
public sealed class AwsSdkClientTests : IAsyncLifetime
{
    private const string Model = "anthropic.claude-sonnet-4-5-20250929-v1:0";
    private const string Body = """{"anthropic_version":"bedrock-2023-05-31","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}""";

    private ScriptedBedrock _bedrock = null!;

    public async Task InitializeAsync() =>
        _bedrock = await ScriptedBedrock.StartAsync(new ScriptedBedrock(new BedrockSigV4Verifier("us-east-1", null, BedrockSigV4Verifier.TestCredentials)));

    public async Task DisposeAsync() => await _bedrock.DisposeAsync();

    [Fact]
    public async Task Official_client_signs_and_decodes_a_streamed_answer()
    {
        _bedrock.DefaultReply = UpstreamReply.Text("Hello from Bedrock, decoded by the AWS SDK for JavaScript.");
        var run = await AwsSdkClient.RunAsync(_bedrock.BaseUrl, Model, "stream", Body, SigV4Credentials());
        Assert.True(run.ExitCode == 0, run.Describe());
        var events = run.Events();
        Assert.Equal("message_start", events[0].GetProperty("type").GetString());
        Assert.Equal("message_stop", events[^1].GetProperty("type").GetString());
        var text = string.Concat(events.Where(e => e.GetProperty("type").GetString() == "content_block_delta")
            .Select(e => e.GetProperty("delta").GetProperty("text").GetString()));
        Assert.Equal("Hello from Bedrock, decoded by the AWS SDK for JavaScript.", text);
        Assert.Equal(events.Count, run.Done!.Value.GetProperty("events").GetInt32());
        var call = Assert.Single(_bedrock.Calls);
        Assert.Equal(Model, call.ModelId);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", call.Request.Headers["Authorization"][0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Official_client_invokes_an_arn_model_id()
    {
        const string arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
        _bedrock.DefaultReply = UpstreamReply.ToolUse("Read", new { file_path = "/work/README.md" });
        var run = await AwsSdkClient.RunAsync(_bedrock.BaseUrl, arn, "invoke", Body, SigV4Credentials());
        Assert.True(run.ExitCode == 0, run.Describe());
        Assert.Equal("tool_use", run.Lines.Single(l => l.TryGetProperty("body", out _)).GetProperty("body").GetProperty("stop_reason").GetString());
        Assert.Equal(arn, Assert.Single(_bedrock.Calls).ModelId);
    }

    [Fact]
    public async Task Exception_frame_surfaces_as_the_named_sdk_error()
    {
        _bedrock.DefaultReply = UpstreamReply.ErrorEventMidStream(2, "rate_limit_error", "Too many tokens, please wait before trying again.");
        var run = await AwsSdkClient.RunAsync(_bedrock.BaseUrl, Model, "stream", Body, SigV4Credentials());
        Assert.Equal(2, run.ExitCode);
        var error = run.Error!.Value;
        Assert.Equal("ThrottlingException", error.GetProperty("name").GetString());
        Assert.Equal("Too many tokens, please wait before trying again.", error.GetProperty("message").GetString());
        Assert.NotEmpty(run.Events());
    }

    [Fact]
    public async Task Bad_signature_surfaces_as_invalid_signature()
    {
        var run = await AwsSdkClient.RunAsync(_bedrock.BaseUrl, Model, "stream", Body,
            new Dictionary<string, string> { ["AWS_ACCESS_KEY_ID"] = BedrockSigV4Verifier.TestCredentials.AccessKeyId, ["AWS_SECRET_ACCESS_KEY"] = "wrong" });
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("InvalidSignatureException", run.Error!.Value.GetProperty("name").GetString());
        Assert.Equal(403, run.Error!.Value.GetProperty("status").GetInt32());
    }

    private static Dictionary<string, string> SigV4Credentials() => new()
    {
        ["AWS_ACCESS_KEY_ID"] = BedrockSigV4Verifier.TestCredentials.AccessKeyId,
        ["AWS_SECRET_ACCESS_KEY"] = BedrockSigV4Verifier.TestCredentials.SecretAccessKey,
    };
}

/// <summary>Runs <c>test/aws-sdk-client/invoke.mjs</c> (installed by <c>test/aws-sdk-client/install.sh</c>) with node.</summary>
internal static class AwsSdkClient
{
    private static readonly SemaphoreSlim s_install = new(1, 1);
    private static string? s_directory;

    public static async Task<AwsSdkClientRun> RunAsync(string endpoint, string modelId, string mode, string body, IReadOnlyDictionary<string, string> environment)
    {
        var directory = await InstallAsync();
        var start = new ProcessStartInfo("node", [Path.Combine(directory, "invoke.mjs")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        // Only what the script needs: no ambient AWS settings (profiles, regions, keys) from the machine.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }
        start.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        start.Environment["AIRLOCK_ENDPOINT"] = endpoint;
        start.Environment["AIRLOCK_MODEL_ID"] = modelId;
        start.Environment["AIRLOCK_MODE"] = mode;
        start.Environment["AIRLOCK_BODY"] = body;
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return new AwsSdkClientRun(process.ExitCode, await stdout, await stderr);
    }

    private static async Task<string> InstallAsync()
    {
        await s_install.WaitAsync();
        try
        {
            if (s_directory is not null)
            {
                return s_directory;
            }
            var script = Path.Combine(RepositoryRoot.Require(), "test", "aws-sdk-client", "install.sh");
            var start = new ProcessStartInfo("bash", [script]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"test/aws-sdk-client/install.sh failed ({process.ExitCode}): {await stderr}");
            }
            s_directory = (await stdout).Trim();
            return s_directory;
        }
        finally
        {
            s_install.Release();
        }
    }
}

/// <summary>What the node script printed.</summary>
internal sealed record AwsSdkClientRun(int ExitCode, string Stdout, string Stderr)
{
    public IReadOnlyList<JsonElement> Lines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(l => JsonDocument.Parse(l).RootElement).ToList();

    public List<JsonElement> Events() => Lines.Where(l => l.TryGetProperty("event", out _)).Select(l => l.GetProperty("event")).ToList();

    public JsonElement? Done => Lines.Where(l => l.TryGetProperty("done", out _)).Cast<JsonElement?>().FirstOrDefault();

    public JsonElement? Error => Lines.Where(l => l.TryGetProperty("error", out _)).Select(l => (JsonElement?)l.GetProperty("error")).FirstOrDefault();

    public string Describe() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

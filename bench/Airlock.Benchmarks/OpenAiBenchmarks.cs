using System.Buffers;
using System.Text;
using Airlock.Protocols.OpenAi;
using BenchmarkDotNet.Attributes;

namespace Airlock.Benchmarks;

/// <summary>
/// The <c>kind: openai</c> translation costs per turn: the recorded Claude Code first turn (49 KB Messages body →
/// chat-completions body), and a streamed answer of 200 <c>delta.content</c> chunks (~37 KB, read in 4 KiB
/// socket-sized pieces) → Messages SSE. Run: <c>dotnet run -c Release -- --filter '*OpenAiBenchmarks*'</c>.
/// </summary>
[MemoryDiagnoser]
public class OpenAiBenchmarks
{
    private const int Chunks = 200;
    private const int ReadSize = 4096;

    private byte[] _request = [];
    private byte[][] _streamPieces = [];
    private readonly ArrayBufferWriter<byte> _output = new(128 * 1024);

    [GlobalSetup]
    public void Setup()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Airlock.slnx")))
        {
            directory = directory.Parent;
        }
        _request = File.ReadAllBytes(Path.Combine(directory?.FullName ?? throw new InvalidOperationException("repository root not found"), "bench", "data", "claude-code-request.json"));
        var stream = new StringBuilder();
        for (var i = 0; i < Chunks; i++)
        {
            stream.Append("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"qwen3\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"chunk ")
                .Append(i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture))
                .Append(" of a streamed answer about the build\"},\"finish_reason\":null}]}\n\n");
        }
        stream.Append("data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
        stream.Append("data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":600}}\n\ndata: [DONE]\n\n");
        _streamPieces = Encoding.UTF8.GetBytes(stream.ToString()).Chunk(ReadSize).ToArray();
    }

    [Benchmark(Description = "request: Claude Code turn (49 KB) -> chat completions")]
    public int TranslateRequest() => MessagesToChatCompletions.Translate(_request, "qwen3-coder", stream: true).Length;

    [Benchmark(Description = "stream: 200 chunks -> Messages SSE")]
    public int TranslateStream()
    {
        _output.ResetWrittenCount();
        using var translator = new ChatCompletionStreamToSse("qwen3-coder");
        foreach (var piece in _streamPieces)
        {
            translator.Feed(piece, _output);
        }
        translator.Complete(_output);
        return _output.WrittenCount;
    }
}

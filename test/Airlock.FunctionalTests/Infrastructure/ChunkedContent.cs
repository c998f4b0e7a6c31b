using System.Net;

namespace Airlock.FunctionalTests.Infrastructure;

/// <summary>A body sent with <c>Transfer-Encoding: chunked</c> and no declared length, in several writes.</summary>
internal sealed class ChunkedContent(byte[] bytes, int chunkSize = 8192) : HttpContent
{
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        for (var offset = 0; offset < bytes.Length; offset += chunkSize)
        {
            await stream.WriteAsync(bytes.AsMemory(offset, Math.Min(chunkSize, bytes.Length - offset)));
            await stream.FlushAsync();
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}

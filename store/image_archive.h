// Image archives: the tarballs `bld save` writes and `bld load` reads, in
// the two formats other tools exchange images in.
//
//  - docker-archive, what `docker save` writes and `docker load`, `podman
//    load` and `skopeo copy docker-archive:` read: manifest.json (a list of
//    {Config, RepoTags, Layers} with paths inside the tar), the image config
//    as <id hex>.json, each layer as <diffID hex>/layer.tar, an uncompressed
//    tar whose sha256 is its diffID (as Docker writes it), and the legacy
//    repositories file ({"repo": {"tag": "<top layer>"}}).
//  - an OCI image layout in a tar, what `skopeo copy oci-archive:` and
//    BuildKit's oci exporter write: oci-layout, index.json naming each image
//    with the annotations io.containerd.image.name (the full name) and
//    org.opencontainers.image.ref.name (its tag), as Docker 25 writes them,
//    and blobs/sha256/<hex> for every blob, byte for byte as stored, so the
//    manifest digests survive the trip. SaveOciLayout writes the same
//    files as a directory (BuildKit's oci exporter with tar=false).
//
// Saving streams: blobs go from the store to the sink through fixed-size
// buffers. A docker-archive needs each layer's uncompressed size in its tar
// header before its content, which the store does not record, so a
// compressed layer is decompressed twice: once to count (and check its
// diffID), once to write.
//
// Loading treats the archive as hostile. The tar (plain, or gzip, zstd,
// bzip2 or xz as `docker load` accepts) is read once, in order, and nothing
// is ever extracted to the filesystem: every regular file streams into the
// blob store (named by its sha256; a file under blobs/sha256/ must hash to
// its name), and only the top-level JSON documents (manifest.json,
// index.json, oci-layout, repositories) are kept in memory, each refused
// past kMaxArchiveDocumentSize before it is read. Entry names with ".." or
// a leading "/", duplicate names, entry types an image archive never holds,
// and more than kMaxArchiveEntries entries are refused. Paths in
// manifest.json are resolved inside the archive only (through its symlinks,
// as Docker's own archives use them), and refused when they climb out.
// Every layer is read through the layer rules and its diffID computed as
// it streams, in the same pass; the diffID must match the image config;
// configs and manifests are parsed under the limits of oci.h. Only
// when every image of the archive has passed are its records and manifests
// written, so a refused archive leaves at most unreferenced blobs (for
// `bld prune`) and never a record, manifest or ref.
//
// Layers of a docker-archive are stored as they come: an uncompressed
// layer.tar stays an uncompressed layer (media type ...layer.v1.tar), as
// Docker's containerd store keeps it; no recompression at load. A docker-
// archive has no manifest, so bld writes an OCI one for each image, over
// the config as it came (the image ID is kept).
//
// Thread safety: the functions keep no state. LoadImages writes blobs and
// records: hold a shared GcLock (garbage_collector.h) until the refs are
// written.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "store/compression.h"
#include "store/oci.h"
#include "store/store.h"

namespace bld::store {

enum class ArchiveFormat { kDocker, kOci };

// JSON documents of an archive (manifest.json, index.json) are held in
// memory to be parsed: an index is a manifest to a registry, so they get the
// manifest limit of oci.h.
inline constexpr size_t kMaxArchiveDocumentSize = kMaxManifestSize;
// A docker-archive of one image holds a handful of files per layer, and an
// image has at most a few hundred layers (overlayfs stacks at most 128
// lowerdirs on most kernels); 100,000 entries are hundreds of images.
inline constexpr size_t kMaxArchiveEntries = 100'000;

// One name of an image in an archive.
struct ArchiveName {
  std::string canonical;  // "docker.io/library/busybox:latest"
  std::string familiar;   // "busybox:latest"
};

struct SaveRequest {
  Descriptor descriptor;  // of the manifest (or index) a ref points at
  // Empty for an image saved by ID. Names with a digest instead of a tag go
  // in an OCI index only (docker-archive RepoTags hold tags).
  std::vector<ArchiveName> names;
};

// Writes the images into one archive. Throws bld::Error if a blob is
// missing or does not hold what its descriptor says; the sink may then have
// received part of the archive.
void SaveImages(const Store& store, const std::vector<SaveRequest>& images, ArchiveFormat format, const ByteSink& sink);

// The same as an OCI image layout on disk (`skopeo copy oci:DIR`, `umoci
// unpack --image DIR`): the files the oci archive holds, written under `dir`,
// which is created if missing and must be empty. Throws bld::Error as
// SaveImages, or when `dir` cannot be written; `dir` may then hold part of
// the layout.
void SaveOciLayout(const Store& store, const std::vector<SaveRequest>& images, const std::string& dir);

struct LoadedImage {
  Descriptor descriptor;  // what a ref should point at
  Digest image_id;        // the config digest (for an index, of the host's image if it has one)
  // As the archive spells them: docker-archive RepoTags ("busybox:latest"),
  // an OCI io.containerd.image.name, or an org.opencontainers.image.ref.name
  // that is a name and not a bare tag. Not validated: names are registry/'s.
  std::vector<std::string> names;
};

struct LoadResult {
  ArchiveFormat format = ArchiveFormat::kDocker;
  std::vector<LoadedImage> images;
};

// Reads an archive of either format (told apart by its documents) and
// stores its images: blobs, records and manifests, not refs. Every file is
// read as a layer too, through the rules the applier enforces
// (layer_reader.h), and a layer an image uses must have passed them, so an
// image that loads also unpacks. Throws bld::Error naming the archive (as
// `archive_name`), the entry or document and what is wrong with it.
LoadResult LoadImages(Store& store, const ByteSource& archive,
                      const std::string& archive_name = "the image archive");

}  // namespace bld::store
